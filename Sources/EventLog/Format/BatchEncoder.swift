/// Turns records into one batch as stored on disk: the 64-byte header followed by the (usually
/// LZ4-compressed) body. Reuses its buffers from one batch to the next; one encoder per writer.
package struct BatchEncoder: Sendable {
    /// The encoded records before compression.
    private var body = ByteWriter(capacity: 1 << 20)
    private var compressed: [UInt8] = []
    /// Header and stored body, ready to write.
    package private(set) var batch: [UInt8] = []
    private var guilds = Set<GuildID>()

    package init() {}

    /// What the encoder learned about the batch it just built, for the index.
    package struct Summary: Sendable {
        package var header: BatchHeader
        package var filter: GuildFilter
        package var minTimestamp: Timestamp
        package var maxTimestamp: Timestamp
    }

    /// Encodes `records` (in the order given) as the batch starting at `baseOffset`.
    ///
    /// The result is in ``batch`` until the next call.
    package mutating func encode(
        _ records: some Collection<Record>, baseOffset: Offset, epoch: Epoch, compress: Bool = true
    ) -> Summary {
        precondition(!records.isEmpty, "a batch holds at least one record")
        guilds.removeAll(keepingCapacity: true)
        let first = records.first!.timestamp
        var last = first
        var minTs = first
        var maxTs = first
        // Worst case per record: length (5) + guild (8) + sequence (10) + delta (10) + tag (3) + version (1).
        var bound = 0
        for record in records { bound += 37 + record.payload.count }
        if body.bytes.count < bound { body.bytes.append(contentsOf: repeatElement(0, count: bound - body.bytes.count)) }
        var previousGuild: GuildID? = nil
        let written = body.bytes.withUnsafeMutableBytes { out -> Int in
            var p = out.baseAddress!
            @inline(__always) func varint(_ value: UInt64) {
                var v = value
                while v >= 0x80 {
                    p.storeBytes(of: UInt8(truncatingIfNeeded: v) | 0x80, as: UInt8.self)
                    p += 1
                    v &>>= 7
                }
                p.storeBytes(of: UInt8(v), as: UInt8.self)
                p += 1
            }
            for record in records {
                let delta = record.timestamp.rawValue &- first.rawValue
                let zigzag = UInt64(bitPattern: (delta &<< 1) ^ (delta &>> 63))
                let length =
                    8 + ByteWriter.varintSize(record.sequence) + ByteWriter.varintSize(zigzag)
                    + ByteWriter.varintSize(UInt64(record.type.rawValue)) + 1 + record.payload.count
                varint(UInt64(length))
                p.storeBytes(of: record.guild.rawValue.littleEndian, as: UInt64.self)
                p += 8
                varint(record.sequence)
                varint(zigzag)
                varint(UInt64(record.type.rawValue))
                p.storeBytes(of: record.typeVersion, as: UInt8.self)
                p += 1
                record.payload.withUnsafeBytes { payload in
                    if let source = payload.baseAddress { p.copyMemory(from: source, byteCount: payload.count) }
                    p += payload.count
                }
                if record.guild != previousGuild {
                    guilds.insert(record.guild)
                    previousGuild = record.guild
                }
                last = record.timestamp
                if record.timestamp < minTs { minTs = record.timestamp }
                if record.timestamp > maxTs { maxTs = record.timestamp }
            }
            return p - out.baseAddress!
        }
        body.bytes.removeLast(body.bytes.count - written)
        precondition(body.count <= Int(BatchHeader.maxBodyLength), "batch body over 1 GiB")

        let compressedLength = compress ? body.bytes.withUnsafeBytes { LZ4Block.compress($0, into: &compressed) } : nil
        var header = BatchHeader(
            codec: compressedLength == nil ? .none : .lz4, epoch: epoch, baseOffset: baseOffset,
            recordCount: UInt32(records.count), uncompressedLength: UInt32(body.count),
            storedLength: UInt32(compressedLength ?? body.count), guildCount: UInt32(guilds.count),
            firstTimestamp: first, lastTimestamp: last)

        let total = BatchHeader.size + Int(header.storedLength)
        batch.removeAll(keepingCapacity: true)
        batch.append(contentsOf: repeatElement(0, count: total))
        batch.withUnsafeMutableBytes { out in
            let stored = UnsafeMutableRawBufferPointer(rebasing: out[BatchHeader.size...])
            if let compressedLength {
                compressed.withUnsafeBytes {
                    stored.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[..<compressedLength]))
                }
            } else {
                body.bytes.withUnsafeBytes { stored.copyMemory(from: $0) }
            }
            header.encode(into: out)
            header.checksum = BatchEncoder.checksum(of: UnsafeRawBufferPointer(out))
            header.encode(into: out)
        }
        return Summary(header: header, filter: GuildFilter(guilds: guilds), minTimestamp: minTs, maxTimestamp: maxTs)
    }

    /// The checksum of a whole stored batch: header bytes 0..<60, then the stored body.
    package static func checksum(of batch: UnsafeRawBufferPointer) -> UInt32 {
        var crc = CRC32C()
        crc.update(UnsafeRawBufferPointer(rebasing: batch[..<BatchHeader.checksummedHeaderBytes]))
        crc.update(UnsafeRawBufferPointer(rebasing: batch[BatchHeader.size...]))
        return crc.checksum
    }
}
