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
        body.bytes.removeAll(keepingCapacity: true)
        guilds.removeAll(keepingCapacity: true)
        let first = records.first!.timestamp
        var last = first
        var minTs = first
        var maxTs = first
        for record in records {
            let delta = record.timestamp.rawValue &- first.rawValue
            let zigzag = UInt64(bitPattern: (delta << 1) ^ (delta >> 63))
            let length =
                8 + ByteWriter.varintSize(record.sequence) + ByteWriter.varintSize(zigzag)
                + ByteWriter.varintSize(UInt64(record.type.rawValue)) + 1 + record.payload.count
            body.writeVarint(UInt64(length))
            body.write(record.guild.rawValue)
            body.writeVarint(record.sequence)
            body.writeVarint(zigzag)
            body.writeVarint(UInt64(record.type.rawValue))
            body.write(record.typeVersion)
            body.write(bytes: record.payload)
            guilds.insert(record.guild)
            last = record.timestamp
            if record.timestamp < minTs { minTs = record.timestamp }
            if record.timestamp > maxTs { maxTs = record.timestamp }
        }
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
                compressed.withUnsafeBytes { stored.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[..<compressedLength])) }
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
