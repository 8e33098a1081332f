public import Logging

/// The embedded default ``LogStore``: a ``DataDirectory`` of segment files, one directory per
/// partition, fenced by an OS lock and the partition manifest's epoch (one machine only: `flock`
/// does not hold across machines or on network file systems).
///
/// Snapshots are files `snapshots/<offset>.snapshot` in the partition's directory, written to a
/// temporary file, fsynced and renamed; the two newest are kept.
public struct FileLogStore: LogStore {
    public let data: DataDirectory

    public init(data: DataDirectory) { self.data = data }

    public var location: String { data.path }
    public var partitionCount: Int { data.partitionCount }

    public func existingPartitions() async throws -> [PartitionID] { data.existingPartitions }

    public func openForWriting(
        partition: PartitionID, epoch: Epoch, configuration: PartitionLog.Configuration, logger: Logger
    ) async throws -> any PartitionLogHandle {
        let directory = data.directory(of: partition)
        return try await BlockingIOPool.shared.run {
            try PartitionLog.openForWriting(
                directory: directory, partition: partition, epoch: epoch, configuration: configuration, logger: logger)
        }
    }

    public func openForReading(partition: PartitionID, logger: Logger) async throws -> any PartitionLogHandle {
        let directory = data.directory(of: partition)
        return try await BlockingIOPool.shared.run {
            try PartitionLog.openForReading(directory: directory, partition: partition, logger: logger)
        }
    }

    public func writeSnapshot(_ bytes: [UInt8], partition: PartitionID, offset: Offset, epoch: Epoch) async throws {
        let directory = data.directory(of: partition)
        _ = try await BlockingIOPool.shared.run {
            try FileLogStore.writeSnapshot(bytes, partitionDirectory: directory, offset: offset)
        }
    }

    public func snapshots(of partition: PartitionID) async throws -> [StoredSnapshot] {
        let directory = data.directory(of: partition)
        return try await BlockingIOPool.shared.run {
            FileLogStore.snapshotPaths(partitionDirectory: directory).reversed().compactMap { path in
                guard let offset = FileLogStore.snapshotOffset(path), let bytes = try? FileSystem.readAll(path) else {
                    return nil
                }
                return StoredSnapshot(offset: offset, bytes: bytes)
            }
        }
    }

    // MARK: Snapshot files

    /// The directory holding a partition's snapshots.
    package static func snapshotDirectory(partitionDirectory: String) -> String {
        FileSystem.join(partitionDirectory, "snapshots")
    }

    /// Writes `bytes` as the snapshot at `offset` (atomically) and removes all but the two newest.
    ///
    /// - Returns: the snapshot's path.
    package static func writeSnapshot(_ bytes: [UInt8], partitionDirectory: String, offset: Offset) throws -> String {
        let directory = snapshotDirectory(partitionDirectory: partitionDirectory)
        try FileSystem.createDirectory(directory, durable: true)
        let path = FileSystem.join(directory, SegmentFile.stem(offset) + ".snapshot")
        try FileSystem.writeAtomically(bytes, to: path)
        for old in snapshotPaths(partitionDirectory: partitionDirectory).dropLast(2) {
            try? FileSystem.remove(old)
        }
        return path
    }

    /// The snapshot files of a partition, oldest first.
    package static func snapshotPaths(partitionDirectory: String) -> [String] {
        let directory = snapshotDirectory(partitionDirectory: partitionDirectory)
        return ((try? FileSystem.list(directory)) ?? []).filter { $0.hasSuffix(".snapshot") }.sorted().map {
            FileSystem.join(directory, $0)
        }
    }

    static func snapshotOffset(_ path: String) -> Offset? {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        guard name.hasSuffix(".snapshot") else { return nil }
        guard let value = UInt64(name.dropLast(".snapshot".count)) else { return nil }
        return Offset(value)
    }
}

extension PartitionLog: PartitionLogHandle {
    public func readPage(_ query: LogQuery, maxBatches: Int) async throws -> LogPage {
        let log = self
        return try await BlockingIOPool.shared.run { () throws -> LogPage in
            var records: [StoredRecord] = []
            var cursor = BatchCursor(log: log, query: query)
            var batches = 0
            var more = true
            while more, batches < max(1, maxBatches) {
                more = try cursor.next { records.append(StoredRecord($0)) }
                if more { batches += 1 }
            }
            return LogPage(records: records, next: cursor.position, isLast: !more, statistics: cursor.statistics)
        }
    }
}
