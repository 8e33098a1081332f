public import EventLog
public import Logging
import NIOCore
import PostgresNIO

/// What copying one partition between stores did.
public struct PartitionCopyReport: Sendable, Equatable {
    public var partition: PartitionID
    /// Batches copied, each read back afterwards and found byte for byte equal to its source.
    public var batches = 0
    public var records: UInt64 = 0
    public var bytes = 0
    public var snapshots = 0
    /// The offset after the last record copied.
    public var end = Offset.zero

    public init(partition: PartitionID) { self.partition = partition }
}

extension PostgresLogStore {
    /// Copies one partition of a data directory into this store (`tally store migrate --to postgres://…`),
    /// batch by batch in the same bytes, with its snapshots. Each batch is checked (checksum, records)
    /// before it is sent and read back and compared byte for byte after its transaction committed.
    /// The file partition is opened read-only and must not be written meanwhile.
    ///
    /// - Throws: ``EventLog/EventLogError`` `invalidArgument` when the store's partition already holds
    ///   batches (nothing is changed), `corruption` for a damaged source batch or a copy that reads
    ///   back differently, `io`.
    public func importPartition(from data: DataDirectory, partition: PartitionID, logger: Logger) async throws
        -> PartitionCopyReport
    {
        var report = PartitionCopyReport(partition: partition)
        let directory = data.directory(of: partition)
        let log = try await BlockingIOPool.shared.run {
            try PartitionLog.openForReading(directory: directory, partition: partition, logger: logger)
        }
        let p = Int32(partition.rawValue)
        let entries = log.state.values.withLock { v in v.segments.flatMap { s in s.entries.map { (s.file, $0) } } }
        try await database("cannot prepare partition \(partition) for the copy") {
            try await client.query(
                "INSERT INTO tally_partitions (partition) VALUES (\(p)) ON CONFLICT (partition) DO NOTHING",
                logger: logger)
            var held: Int64 = 0
            for try await n in try await client.query(
                "SELECT count(*) FROM tally_batches WHERE partition = \(p)", logger: logger
            ).decode(Int64.self) {
                held = n
            }
            guard held == 0 else {
                throw EventLogError(
                    .invalidArgument,
                    "partition \(partition) already holds \(held) batches in the store at \(location); nothing copied")
            }
        }
        var index = 0
        var decoder = BatchDecoder()
        while index < entries.count {
            let chunk = Array(entries[index..<min(entries.count, index + 64)])
            index += chunk.count
            let sources = try await BlockingIOPool.shared.run { () throws -> [[UInt8]] in
                try chunk.map { file, entry in
                    var buffer: [UInt8] = []
                    try file.readBatch(entry, into: &buffer)
                    return buffer
                }
            }
            var rows: [BatchRow] = []
            for ((file, entry), bytes) in zip(chunk, sources) {
                try StoredBatch.decode(
                    bytes, base: entry.baseOffset, count: Int(entry.recordCount), epoch: entry.epoch,
                    location: file.logPath, decoder: &decoder
                ) { _ in }
                rows.append(BatchRow(entry: entry, bytes: bytes))
            }
            let start = Int64(chunk[0].1.baseOffset.rawValue)
            let end = Int64(chunk[chunk.count - 1].1.nextOffset.rawValue)
            let newest = Int64(chunk.map(\.1.epoch.rawValue).max() ?? 0)
            try await database("cannot copy partition \(partition)") {
                try await client.withTransaction(logger: logger) { connection in
                    for row in rows { try await insert(row, partition: p, connection: connection) }
                    var moved = false
                    for try await _ in try await connection.query(
                        """
                        UPDATE tally_partitions SET next_offset = \(end), epoch = GREATEST(epoch, \(newest))
                        WHERE partition = \(p) AND next_offset = \(start) RETURNING partition
                        """, logger: logger)
                    {
                        moved = true
                    }
                    guard moved else {
                        throw EventLogError(
                            .invalidArgument, "partition \(partition) was written in the store during the copy")
                    }
                }
            }
            // Read back what committed and compare it with the source, batch by batch.
            var copied: [Int64: [UInt8]] = [:]
            try await database("cannot read back partition \(partition)") {
                for try await (base, bytes) in try await client.query(
                    """
                    SELECT base_offset, bytes FROM tally_batches
                    WHERE partition = \(p) AND base_offset >= \(start) AND base_offset < \(end)
                    """, logger: logger
                ).decode((Int64, ByteBuffer).self) {
                    copied[base] = Array(buffer: bytes)
                }
            }
            for ((_, entry), bytes) in zip(chunk, sources) where copied[Int64(entry.baseOffset.rawValue)] != bytes {
                throw EventLogError(
                    .corruption, "the copy of the batch at offset \(entry.baseOffset) reads back differently",
                    path: location)
            }
            report.batches += chunk.count
            report.records += chunk.reduce(0) { $0 + UInt64($1.1.recordCount) }
            report.bytes += sources.reduce(0) { $0 + $1.count }
            report.end = Offset(UInt64(end))
        }
        let snapshots = try await FileLogStore(data: data).snapshots(of: partition)
        if let epoch = log.newestEpoch {
            for snapshot in snapshots.reversed() where snapshot.offset <= report.end {
                try await writeSnapshot(snapshot.bytes, partition: partition, offset: snapshot.offset, epoch: epoch)
                report.snapshots += 1
            }
        }
        return report
    }

    /// Copies one partition of this store into a data directory (`tally store migrate --from
    /// postgres://…`): each batch is appended with its own epoch as one group, so the segment holds
    /// the same bytes, and is read back and compared byte for byte. Snapshots come along.
    ///
    /// - Throws: ``EventLog/EventLogError`` `invalidArgument` when the directory's partition already
    ///   holds records, `corruption` for a damaged batch in the store or a copy that differs, `io`.
    public func exportPartition(_ partition: PartitionID, to data: DataDirectory, logger: Logger) async throws
        -> PartitionCopyReport
    {
        var report = PartitionCopyReport(partition: partition)
        // Refuses a partition the store never had (`notFound`).
        _ = try await openForReading(partition: partition, logger: logger)
        let directory = data.directory(of: partition)
        let p = Int32(partition.rawValue)
        var writer: (log: PartitionLog, epoch: Epoch, compressed: Bool)?
        var decoder = BatchDecoder()
        var after: Int64 = -1
        do {
            while true {
                var page: [(Int64, Int32, Int64, [UInt8])] = []
                try await database("cannot read partition \(partition)") {
                    for try await (base, count, epoch, bytes) in try await client.query(
                        """
                        SELECT base_offset, record_count, epoch, bytes FROM tally_batches
                        WHERE partition = \(p) AND base_offset > \(after) ORDER BY base_offset LIMIT 64
                        """, logger: logger
                    ).decode((Int64, Int32, Int64, ByteBuffer).self) {
                        page.append((base, count, epoch, Array(buffer: bytes)))
                    }
                }
                guard !page.isEmpty else { break }
                for (base, count, epoch, bytes) in page {
                    after = base
                    var records: [Record] = []
                    let header = try StoredBatch.decode(
                        bytes, base: Offset(UInt64(base)), count: Int(count), epoch: Epoch(UInt64(epoch)),
                        location: "\(location) partition \(partition)", decoder: &decoder
                    ) { records.append(Record($0)) }
                    let compressed = header.codec == .lz4
                    if writer == nil || writer?.epoch != header.epoch || writer?.compressed != compressed {
                        if let open = writer { await open.log.close() }
                        var options = PartitionLog.Configuration()
                        options.compression = compressed
                        options.maxBatchBytes = Int(BatchHeader.maxBodyLength)
                        let configuration = options
                        let log = try await BlockingIOPool.shared.run {
                            try PartitionLog.openForWriting(
                                directory: directory, partition: partition, epoch: header.epoch,
                                configuration: configuration, logger: logger)
                        }
                        if writer == nil, log.endOffset != .zero {
                            await log.close()
                            throw EventLogError(
                                .invalidArgument,
                                "partition \(partition) already holds records in \(data.path); nothing copied",
                                path: directory)
                        }
                        writer = (log, header.epoch, compressed)
                    }
                    guard let log = writer?.log else { break }
                    let range = try await log.append(records)
                    let copy = try await BlockingIOPool.shared.run { () throws -> [UInt8] in
                        guard
                            let (file, entry) = log.state.values.withLock({ v in
                                v.segments.last.flatMap { s in s.entries.last.map { (s.file, $0) } }
                            })
                        else { return [] }
                        var buffer: [UInt8] = []
                        try file.readBatch(entry, into: &buffer)
                        return buffer
                    }
                    guard range.lowerBound == header.baseOffset, copy == bytes else {
                        throw EventLogError(
                            .corruption, "the copy of the batch at offset \(base) differs from the store's",
                            path: directory)
                    }
                    report.batches += 1
                    report.records += UInt64(count)
                    report.bytes += bytes.count
                    report.end = header.nextOffset
                }
            }
        } catch {
            if let open = writer { await open.log.close() }
            throw error
        }
        if let open = writer { await open.log.close() }
        for snapshot in try await snapshots(of: partition).reversed() where snapshot.offset <= report.end {
            try await FileLogStore(data: data).writeSnapshot(
                snapshot.bytes, partition: partition, offset: snapshot.offset, epoch: writer?.epoch ?? Epoch(0))
            report.snapshots += 1
        }
        return report
    }

    /// Inserts one batch row as it is (the copy's own transaction checks the offsets).
    private func insert(_ row: BatchRow, partition p: Int32, connection: PostgresConnection) async throws {
        try await connection.query(
            """
            INSERT INTO tally_batches (partition, base_offset, last_offset, record_count, epoch, min_time,
                max_time, guilds, bloom_words, bloom_hashes, bytes)
            VALUES (\(p), \(row.baseOffset), \(row.lastOffset), \(row.recordCount), \(row.epoch), \(row.minTime),
                \(row.maxTime), \(row.guilds), \(row.bloomWords), \(row.bloomHashes), \(row.bytes))
            """, logger: logger)
    }
}
