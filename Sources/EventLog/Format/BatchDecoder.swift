/// Verifies and unpacks stored batches. Reuses its decompression buffer; one decoder per reader.
package struct BatchDecoder: Sendable {
    private var buffer: [UInt8] = []

    package init() {}

    /// Why a stored batch was rejected.
    package enum Failure: Error, Equatable {
        case header(BatchHeader.DecodeFailure)
        case checksum(expected: UInt32, actual: UInt32)
        case decompression
        case record(index: Int, reason: String)

        package var reason: String {
            switch self {
            case .header(.short): "truncated batch header"
            case .header(.badMagic): "bad batch magic"
            case .header(.unsupportedVersion(let v)): "unsupported batch format version \(v)"
            case .header(.badCodec(let c)): "unknown batch codec \(c)"
            case .header(.implausible(let why)): "implausible batch header: \(why)"
            case .checksum(let expected, let actual):
                "checksum mismatch (stored \(hex(expected)), computed \(hex(actual)))"
            case .decompression: "LZ4 body does not decompress to its declared length"
            case .record(let index, let why): "record \(index) malformed: \(why)"
            }
        }

        private func hex(_ v: UInt32) -> String { "0x" + String(v, radix: 16) }
    }

    /// Checks the checksum of a whole stored batch (header + body) without decompressing.
    package static func verifyChecksum(_ batch: UnsafeRawBufferPointer, header: BatchHeader) throws(Failure) {
        let actual = BatchEncoder.checksum(of: batch)
        guard actual == header.checksum else { throw .checksum(expected: header.checksum, actual: actual) }
    }

    /// Verifies a stored batch and calls `body` with each record, in order.
    ///
    /// - Parameter batch: exactly one batch, header included.
    package mutating func decode(
        _ batch: UnsafeRawBufferPointer, verify: Bool = true, _ body: (RecordView) throws -> Void
    ) throws -> BatchHeader {
        let header: BatchHeader
        do { header = try BatchHeader.decode(batch) } catch { throw Failure.header(error) }
        guard batch.count == header.batchLength else { throw Failure.header(.short) }
        if verify { try BatchDecoder.verifyChecksum(batch, header: header) }
        let stored = UnsafeRawBufferPointer(rebasing: batch[BatchHeader.size...])
        switch header.codec {
        case .none:
            try BatchDecoder.forEachRecord(in: stored, header: header, body)
        case .lz4:
            let length = Int(header.uncompressedLength)
            if buffer.count < length { buffer.append(contentsOf: repeatElement(0, count: length - buffer.count)) }
            try buffer.withUnsafeMutableBytes { out in
                let target = UnsafeMutableRawBufferPointer(rebasing: out[..<length])
                guard LZ4Block.decompress(stored, into: target) else { throw Failure.decompression }
                try BatchDecoder.forEachRecord(in: UnsafeRawBufferPointer(target), header: header, body)
            }
        }
        return header
    }

    /// Walks the encoded records of a decompressed body.
    static func forEachRecord(
        in records: UnsafeRawBufferPointer, header: BatchHeader, _ body: (RecordView) throws -> Void
    ) throws {
        var reader = ByteReader(records)
        let count = Int(header.recordCount)
        for index in 0..<count {
            let view: RecordView
            do {
                let declared = try reader.readVarint()
                let start = reader.position
                guard declared >= 11, declared <= UInt64(reader.remaining) else {
                    throw Failure.record(index: index, reason: "length \(declared) out of bounds")
                }
                let length = Int(declared)
                let guild = try reader.read(UInt64.self)
                let sequence = try reader.readVarint()
                let delta = try reader.readSignedVarint()
                let tag = try reader.readVarint()
                guard tag <= UInt64(UInt16.max) else {
                    throw Failure.record(index: index, reason: "type tag \(tag) out of range")
                }
                let version = try reader.read(UInt8.self)
                let payloadLength = length - (reader.position - start)
                guard payloadLength >= 0 else {
                    throw Failure.record(index: index, reason: "fields overrun the record length")
                }
                let payload = try reader.readBytes(payloadLength)
                view = RecordView(
                    offset: Offset(header.baseOffset.rawValue &+ UInt64(index)), guild: GuildID(guild),
                    sequence: sequence, timestamp: Timestamp(rawValue: header.firstTimestamp.rawValue &+ delta),
                    type: EventTypeTag(UInt16(tag)), typeVersion: version, payload: payload)
            } catch is ByteReader.Overrun {
                throw Failure.record(index: index, reason: "ends past the batch body")
            }
            try body(view)
        }
        guard reader.isAtEnd else {
            throw Failure.record(index: count, reason: "\(reader.remaining) bytes after the last record")
        }
    }
}
