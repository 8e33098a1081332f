/// What the segment index knows about one batch: where it is, what offsets and times it covers,
/// who wrote it, and which guilds it holds.
package struct IndexEntry: Equatable, Sendable {
    package var baseOffset: Offset
    /// Byte position of the batch header in its segment file.
    package var position: Int64
    /// Header plus stored body.
    package var length: UInt32
    package var recordCount: UInt32
    package var minTimestamp: Timestamp
    package var maxTimestamp: Timestamp
    package var epoch: Epoch
    package var filter: GuildFilter

    package var nextOffset: Offset { Offset(baseOffset.rawValue + UInt64(recordCount)) }
    package var end: Int64 { position + Int64(length) }

    package init(summary: BatchEncoder.Summary, position: Int64) {
        self.init(
            header: summary.header, position: position, filter: summary.filter,
            minTimestamp: summary.minTimestamp, maxTimestamp: summary.maxTimestamp)
    }

    package init(
        header: BatchHeader, position: Int64, filter: GuildFilter, minTimestamp: Timestamp, maxTimestamp: Timestamp
    ) {
        self.baseOffset = header.baseOffset
        self.position = position
        self.length = UInt32(header.batchLength)
        self.recordCount = header.recordCount
        self.minTimestamp = minTimestamp
        self.maxTimestamp = maxTimestamp
        self.epoch = header.epoch
        self.filter = filter
    }

    /// Appends the entry's on-disk form (see `OnDiskFormat.md`, "Index files").
    package func encode(into out: inout ByteWriter) {
        let start = out.count
        out.write(UInt32(0))  // length, patched below
        out.write(baseOffset.rawValue)
        out.write(UInt64(position))
        out.write(length)
        out.write(recordCount)
        out.write(minTimestamp.rawValue)
        out.write(maxTimestamp.rawValue)
        out.write(epoch.rawValue)
        switch filter {
        case .exact(let guilds):
            out.write(UInt8(0))
            out.write(UInt8(0))
            out.write(UInt16(0))
            out.write(UInt32(guilds.count))
            for g in guilds { out.write(g.rawValue) }
        case .bloom(let words, let k):
            out.write(UInt8(1))
            out.write(k)
            out.write(UInt16(0))
            out.write(UInt32(words.count))
            for w in words { out.write(w) }
        }
        out.patch(UInt32(out.count - start), at: start)  // bytes before the checksum
        let crc = out.bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[start...])) }
        out.write(crc)
    }

    /// Decodes one entry; nil when the bytes are short, torn or fail their checksum.
    package static func decode(_ reader: inout ByteReader) -> IndexEntry? {
        let start = reader.position
        do {
            let length = Int(try reader.read(UInt32.self))
            guard length >= 60, length <= reader.remaining else { return nil }
            let crcPosition = start + length
            let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: reader.base[start..<crcPosition]))
            let stored = reader.base.loadUnaligned(fromByteOffset: crcPosition, as: UInt32.self)
            guard crc == UInt32(littleEndian: stored) else { return nil }
            let base = Offset(try reader.read(UInt64.self))
            let rawPosition = try reader.read(UInt64.self)
            let batchLength = try reader.read(UInt32.self)
            let count = try reader.read(UInt32.self)
            // Out-of-range fields make the entry unreadable (the segment is scanned instead), so that
            // `end` and `nextOffset` can never overflow.
            guard rawPosition <= UInt64(Int64.max) - UInt64(batchLength),
                base.rawValue <= UInt64.max - UInt64(count)
            else { return nil }
            let position = Int64(rawPosition)
            let minTs = Timestamp(rawValue: try reader.read(Int64.self))
            let maxTs = Timestamp(rawValue: try reader.read(Int64.self))
            let epoch = Epoch(try reader.read(UInt64.self))
            let kind = try reader.read(UInt8.self)
            let k = try reader.read(UInt8.self)
            _ = try reader.read(UInt16.self)
            let n = Int(try reader.read(UInt32.self))
            guard n <= (crcPosition - reader.position) / 8 else { return nil }
            var values: [UInt64] = []
            values.reserveCapacity(n)
            for _ in 0..<n { values.append(try reader.read(UInt64.self)) }
            guard reader.position == crcPosition else { return nil }
            try reader.skip(4)
            let filter: GuildFilter
            switch kind {
            case 0: filter = .exact(values.map(GuildID.init(rawValue:)))
            case 1 where n > 0 && k > 0: filter = .bloom(words: values, hashes: k)
            default: return nil
            }
            return IndexEntry(
                baseOffset: base, position: position, length: batchLength, recordCount: count,
                minTimestamp: minTs, maxTimestamp: maxTs, epoch: epoch, filter: filter)
        } catch {
            return nil
        }
    }

    package init(
        baseOffset: Offset, position: Int64, length: UInt32, recordCount: UInt32, minTimestamp: Timestamp,
        maxTimestamp: Timestamp, epoch: Epoch, filter: GuildFilter
    ) {
        self.baseOffset = baseOffset
        self.position = position
        self.length = length
        self.recordCount = recordCount
        self.minTimestamp = minTimestamp
        self.maxTimestamp = maxTimestamp
        self.epoch = epoch
        self.filter = filter
    }
}
