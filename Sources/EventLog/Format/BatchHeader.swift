/// The fixed 64-byte header in front of every batch body. See `OnDiskFormat.md` for the byte layout.
package struct BatchHeader: Equatable, Sendable {
    package static let size = 64
    package static let magic: (UInt8, UInt8, UInt8, UInt8) = (0x54, 0x4C, 0x59, 0x42)  // "TLYB"
    package static let currentFormatVersion: UInt8 = 1
    /// Bytes 0..<60 are covered by the checksum along with the body.
    package static let checksummedHeaderBytes = 60

    package var formatVersion: UInt8 = BatchHeader.currentFormatVersion
    package var codec: BatchCodec
    package var flags: UInt16 = 0
    package var epoch: Epoch
    package var baseOffset: Offset
    package var recordCount: UInt32
    package var uncompressedLength: UInt32
    package var storedLength: UInt32
    package var guildCount: UInt32
    package var firstTimestamp: Timestamp
    package var lastTimestamp: Timestamp
    package var checksum: UInt32 = 0

    /// Header plus body: the batch's size on disk.
    package var batchLength: Int { BatchHeader.size + Int(storedLength) }

    /// The offset after the batch's last record.
    package var nextOffset: Offset { Offset(baseOffset.rawValue + UInt64(recordCount)) }

    package func encode(into bytes: UnsafeMutableRawBufferPointer) {
        precondition(bytes.count >= BatchHeader.size)
        bytes[0] = BatchHeader.magic.0
        bytes[1] = BatchHeader.magic.1
        bytes[2] = BatchHeader.magic.2
        bytes[3] = BatchHeader.magic.3
        bytes[4] = formatVersion
        bytes[5] = codec.rawValue
        bytes.storeBytes(of: flags.littleEndian, toByteOffset: 6, as: UInt16.self)
        bytes.storeBytes(of: epoch.rawValue.littleEndian, toByteOffset: 8, as: UInt64.self)
        bytes.storeBytes(of: baseOffset.rawValue.littleEndian, toByteOffset: 16, as: UInt64.self)
        bytes.storeBytes(of: recordCount.littleEndian, toByteOffset: 24, as: UInt32.self)
        bytes.storeBytes(of: uncompressedLength.littleEndian, toByteOffset: 28, as: UInt32.self)
        bytes.storeBytes(of: storedLength.littleEndian, toByteOffset: 32, as: UInt32.self)
        bytes.storeBytes(of: guildCount.littleEndian, toByteOffset: 36, as: UInt32.self)
        bytes.storeBytes(of: firstTimestamp.rawValue.littleEndian, toByteOffset: 40, as: Int64.self)
        bytes.storeBytes(of: lastTimestamp.rawValue.littleEndian, toByteOffset: 48, as: Int64.self)
        bytes.storeBytes(of: UInt32(0), toByteOffset: 56, as: UInt32.self)
        bytes.storeBytes(of: checksum.littleEndian, toByteOffset: 60, as: UInt32.self)
    }

    /// Why a header could not be decoded.
    package enum DecodeFailure: Error, Equatable {
        case short, badMagic, unsupportedVersion(UInt8), badCodec(UInt8), implausible(String)
    }

    /// Decodes and sanity-checks a header. The checksum is checked separately, once the body is read.
    package static func decode(_ bytes: UnsafeRawBufferPointer) throws(DecodeFailure) -> BatchHeader {
        guard bytes.count >= size else { throw .short }
        guard bytes[0] == magic.0, bytes[1] == magic.1, bytes[2] == magic.2, bytes[3] == magic.3 else {
            throw .badMagic
        }
        guard bytes[4] == currentFormatVersion else { throw .unsupportedVersion(bytes[4]) }
        guard let codec = BatchCodec(rawValue: bytes[5]) else { throw .badCodec(bytes[5]) }
        func load<T: FixedWidthInteger>(_ at: Int, _: T.Type) -> T {
            T(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: T.self))
        }
        let header = BatchHeader(
            formatVersion: bytes[4], codec: codec, flags: load(6, UInt16.self),
            epoch: Epoch(load(8, UInt64.self)), baseOffset: Offset(load(16, UInt64.self)),
            recordCount: load(24, UInt32.self), uncompressedLength: load(28, UInt32.self),
            storedLength: load(32, UInt32.self), guildCount: load(36, UInt32.self),
            firstTimestamp: Timestamp(rawValue: load(40, Int64.self)),
            lastTimestamp: Timestamp(rawValue: load(48, Int64.self)), checksum: load(60, UInt32.self))
        guard header.recordCount > 0 else { throw .implausible("zero records") }
        guard header.guildCount > 0, header.guildCount <= header.recordCount else {
            throw .implausible("guild count \(header.guildCount) for \(header.recordCount) records")
        }
        guard header.storedLength <= BatchHeader.maxBodyLength,
            header.uncompressedLength <= BatchHeader.maxBodyLength
        else { throw .implausible("body length over \(BatchHeader.maxBodyLength)") }
        if codec == .none, header.storedLength != header.uncompressedLength {
            throw .implausible("uncompressed body with differing lengths")
        }
        // One LZ4 block expands at most 255-fold; a larger claim would only make a reader allocate.
        if codec == .lz4, UInt64(header.uncompressedLength) > UInt64(header.storedLength) * 255 + 16 {
            throw .implausible(
                "uncompressed length \(header.uncompressedLength) for \(header.storedLength) stored bytes")
        }
        guard header.baseOffset.rawValue <= UInt64.max - UInt64(header.recordCount) else {
            throw .implausible("base offset \(header.baseOffset) leaves no room for \(header.recordCount) records")
        }
        return header
    }

    /// The largest body a batch may hold, compressed or not (1 GiB); anything larger is corruption.
    package static let maxBodyLength: UInt32 = 1 << 30
}

/// How a batch body is stored.
package enum BatchCodec: UInt8, Sendable {
    /// Stored as encoded (used when LZ4 would not make it smaller).
    case none = 0
    /// One LZ4 block (liblz4's block format).
    case lz4 = 1
}
