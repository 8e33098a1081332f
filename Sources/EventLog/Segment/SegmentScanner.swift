/// Reads a segment's batches from a byte position to the end of the file, verifying each one and
/// building its index entry; stops at the first batch that is cut short or fails verification.
package struct SegmentScanner {
    package enum Stop: Equatable, Sendable {
        /// Every byte up to the end of the file was a valid batch.
        case end
        /// The batch at `position` is incomplete: the file ends inside it.
        case torn(position: Int64, reason: String)
        /// The batch at `position` is complete but invalid.
        case corrupt(position: Int64, reason: String)
        /// Every byte from `position` to the end of the file is zero: space the writer reserved ahead
        /// of its batches (see ``PartitionLog/Configuration/reserveBytes``). No damage: nothing there
        /// was ever acknowledged, and the writer overwrites it.
        case zeroes(position: Int64)

        /// Where the damage starts; nil when the valid batches reach the end of the file or are
        /// followed only by zeroes.
        package var position: Int64? {
            switch self {
            case .end, .zeroes: nil
            case .torn(let p, _), .corrupt(let p, _): p
            }
        }

        /// Where the valid batches end, when only zeroes follow them.
        package var zeroesFrom: Int64? {
            if case .zeroes(let p) = self { p } else { nil }
        }

        package var reason: String {
            switch self {
            case .end: "no damage"
            case .zeroes: "reserved space (zeroes) after the last batch"
            case .torn(_, let r), .corrupt(_, let r): r
            }
        }
    }

    package struct Result: Sendable {
        package var entries: [IndexEntry]
        package var stop: Stop
        package var fileSize: Int64
        /// Records found in the valid batches.
        package var records: UInt64
    }

    /// Scans `file` from `position`, expecting the first batch there to start at `offset`.
    ///
    /// - Parameter known: index entries already trusted for batches from `position` on, matched by
    ///   position; their guild filter is reused instead of decompressing the batch again.
    package static func scan(
        _ file: FileDescriptor, from position: Int64, expecting offset: Offset, known: [IndexEntry] = []
    ) throws -> Result {
        let size = try file.size()
        let length = Int(max(0, size - position))
        var bytes = [UInt8](repeating: 0, count: length)
        let n = try bytes.withUnsafeMutableBytes { raw in try file.read(into: raw, at: position) }
        let knownByPosition = Dictionary(known.map { ($0.position, $0) }, uniquingKeysWith: { a, _ in a })
        return bytes.withUnsafeBytes { raw in
            scan(
                UnsafeRawBufferPointer(rebasing: raw[..<n]), startingAt: position, expecting: offset,
                knownByPosition: knownByPosition, fileSize: size)
        }
    }

    /// Scans bytes already in memory: `raw` holds the file from byte `base` on.
    package static func scan(
        _ raw: UnsafeRawBufferPointer, startingAt base: Int64, expecting startOffset: Offset,
        knownByPosition: [Int64: IndexEntry], fileSize: Int64
    ) -> Result {
        var entries: [IndexEntry] = []
        var cursor = 0
        var offset = startOffset
        var decoder = BatchDecoder()
        var guilds = Set<GuildID>()
        var records: UInt64 = 0
        func result(_ stop: Stop) -> Result {
            Result(entries: entries, stop: stop, fileSize: fileSize, records: records)
        }
        while cursor < raw.count {
            let position = base + Int64(cursor)
            let rest = UnsafeRawBufferPointer(rebasing: raw[cursor...])
            if rest[0] == 0, isZero(rest) { return result(.zeroes(position: position)) }
            guard rest.count >= BatchHeader.size else {
                return result(.torn(position: position, reason: "\(rest.count) bytes, less than a batch header"))
            }
            let header: BatchHeader
            do { header = try BatchHeader.decode(rest) } catch {
                let reason = BatchDecoder.Failure.header(error).reason
                // A header whose magic is missing may be a write that never reached the disk
                // (zeroes) or damage; the caller decides which by looking past it.
                return result(.corrupt(position: position, reason: reason))
            }
            guard header.batchLength <= rest.count else {
                return result(
                    .torn(
                        position: position,
                        reason:
                            "batch of \(header.batchLength) bytes but only \(rest.count) left in the file"))
            }
            let batch = UnsafeRawBufferPointer(rebasing: rest[..<header.batchLength])
            do { try BatchDecoder.verifyChecksum(batch, header: header) } catch {
                return result(.corrupt(position: position, reason: error.reason))
            }
            guard header.baseOffset == offset else {
                return result(
                    .corrupt(
                        position: position,
                        reason:
                            "batch starts at offset \(header.baseOffset), expected \(offset)"))
            }
            let entry: IndexEntry
            if let known = knownByPosition[position], known.baseOffset == header.baseOffset,
                known.length == UInt32(header.batchLength), known.recordCount == header.recordCount
            {
                entry = known
            } else {
                guilds.removeAll(keepingCapacity: true)
                var minTs = header.firstTimestamp
                var maxTs = header.firstTimestamp
                do {
                    _ = try decoder.decode(batch, verify: false) { record in
                        guilds.insert(record.guild)
                        minTs = min(minTs, record.timestamp)
                        maxTs = max(maxTs, record.timestamp)
                    }
                } catch let failure as BatchDecoder.Failure {
                    return result(.corrupt(position: position, reason: failure.reason))
                } catch {
                    return result(.corrupt(position: position, reason: String(describing: error)))
                }
                entry = IndexEntry(
                    header: header, position: position, filter: GuildFilter(guilds: guilds),
                    minTimestamp: minTs, maxTimestamp: maxTs)
            }
            entries.append(entry)
            records += UInt64(header.recordCount)
            offset = header.nextOffset
            cursor += header.batchLength
        }
        return result(.end)
    }

    /// Whether every byte of `bytes` is zero.
    static func isZero(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var i = 0
        let words = bytes.count / 8
        while i < words {
            if bytes.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self) != 0 { return false }
            i += 1
        }
        for j in words * 8..<bytes.count where bytes[j] != 0 { return false }
        return true
    }

    /// Whether any complete, valid batch starts after `position`: if one does, the damage at
    /// `position` is not a torn tail but corruption in the middle of durable data.
    package static func validBatchExists(in file: FileDescriptor, after position: Int64) throws -> Int64? {
        let size = try file.size()
        guard size > position + 1 else { return nil }
        let length = Int(size - position - 1)
        var bytes = [UInt8](repeating: 0, count: length)
        let n = try bytes.withUnsafeMutableBytes { raw in try file.read(into: raw, at: position + 1) }
        return bytes.withUnsafeBytes { raw -> Int64? in
            firstValidBatch(in: UnsafeRawBufferPointer(rebasing: raw[..<n])).map { position + 1 + Int64($0) }
        }
    }

    /// The index in `view` of the first complete batch with a valid header and checksum, if any.
    package static func firstValidBatch(in view: UnsafeRawBufferPointer) -> Int? {
        var i = 0
        while i + BatchHeader.size <= view.count {
            if view[i] == BatchHeader.magic.0, view[i + 1] == BatchHeader.magic.1,
                view[i + 2] == BatchHeader.magic.2, view[i + 3] == BatchHeader.magic.3
            {
                let rest = UnsafeRawBufferPointer(rebasing: view[i...])
                if let header = try? BatchHeader.decode(rest), header.batchLength <= rest.count,
                    (try? BatchDecoder.verifyChecksum(
                        UnsafeRawBufferPointer(rebasing: rest[..<header.batchLength]), header: header)) != nil
                {
                    return i
                }
            }
            i += 1
        }
        return nil
    }
}
