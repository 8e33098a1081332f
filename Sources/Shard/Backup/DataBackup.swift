public import EventLog
import Foundation
import Partition
import Projections

/// A consistent, verified copy of a data directory's partitions, made while they are served:
/// `tally backup`. The copy is itself a data directory (`tally log verify` and `tally serve` take it).
///
/// Per partition, in this order: the read models through SQLite's online backup (they reflect an
/// offset at or below the log's durable end, which only grows), then the log up to its durable end
/// (the backup's end offset: every record below it is in the copy, none above), then the snapshots
/// at or below that end. A snapshot or read model past the end would describe events the copy does
/// not hold, so none is taken. Each copy is verified before it counts.
public enum DataBackup {
    /// What a backup holds, written as `backup-<source>.json` in the copy.
    public struct Manifest: Codable, Sendable, Equatable {
        public var format = 1
        /// Who made it: `serve`, a shard id, or `offline`.
        public var source: String
        public var createdAtMs: Int64
        public var partitions: [PartitionEntry]
        /// Where the backup is (on the machine that made it).
        public var directory: String?

        public init(source: String, createdAtMs: Int64, partitions: [PartitionEntry]) {
            self.source = source
            self.createdAtMs = createdAtMs
            self.partitions = partitions
        }

        enum CodingKeys: String, CodingKey {
            case format, source, partitions, directory
            case createdAtMs = "created_at_ms"
        }
    }

    public struct PartitionEntry: Codable, Sendable, Equatable {
        public var partition: Int
        /// Every record below this offset is in the backup; nothing at or above it.
        public var endOffset: UInt64
        public var segments: Int
        public var bytes: Int64
        /// The offset the copied read models reflect (nil: the partition had none).
        public var readModelsOffset: UInt64?
        /// The offsets of the snapshots copied.
        public var snapshots: [UInt64]

        enum CodingKeys: String, CodingKey {
            case partition, segments, bytes, snapshots
            case endOffset = "end_offset"
            case readModelsOffset = "read_models_offset"
        }
    }

    /// The manifest files of a backup directory.
    public static func manifests(in directory: String) throws -> [Manifest] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory)
            .filter { $0.hasPrefix("backup-") && $0.hasSuffix(".json") }.sorted()
        return try names.map { name in
            try JSONDecoder().decode(
                Manifest.self, from: Data(contentsOf: URL(fileURLWithPath: directory + "/" + name)))
        }
    }

    /// Makes `destination` a data directory like `source` (same partition count) and copies the
    /// deployment's secrets (the raffle secret must never change under a log) and the coordinator's
    /// assignment, if `source` has them and the copy does not yet. Checks first that the copy holds
    /// none of `partitions` (shards of a cluster back up into one directory, each its own).
    ///
    /// - Throws: ``EventLog/EventLogError`` `invalidArgument` when `destination` already holds one of
    ///   `partitions` or is a data directory with another partition count (nothing is written then);
    ///   ``Projections/ProjectionsError`` when a copy fails.
    public static func prepare(source: DataDirectory, destination: String, partitions: [PartitionID]) throws
        -> DataDirectory
    {
        if FileSystem.exists(destination + "/tally.json") {
            let existing = try DataDirectory.open(path: destination)
            guard existing.partitionCount == source.partitionCount else {
                throw EventLogError(
                    .invalidArgument,
                    "\(destination) is a data directory of \(existing.partitionCount) partitions, not \(source.partitionCount)"
                )
            }
            if let taken = partitions.first(where: { FileSystem.isDirectory(existing.directory(of: $0)) }) {
                throw EventLogError(
                    .invalidArgument, "\(destination) already holds partition \(taken); back up into a new directory")
            }
        }
        let copy = try DataDirectory.open(path: destination, creatingWith: source.partitionCount)
        let secrets = source.path + "/secrets.json"
        if FileSystem.exists(secrets), !FileSystem.exists(copy.path + "/secrets.json") {
            try FileSystem.writeAtomically(
                try FileSystem.readAll(secrets), to: copy.path + "/secrets.json", permissions: 0o600)
        }
        let assignment = source.path + "/coordinator.sqlite"
        if FileSystem.exists(assignment), !FileSystem.exists(copy.path + "/coordinator.sqlite") {
            try ReadModelStore.copyDatabase(from: assignment, to: copy.path + "/coordinator.sqlite")
        }
        return copy
    }

    /// Copies one partition (read models, log, snapshots) from `source` into `destination` and
    /// verifies the copy: every batch checked, the copy's records exactly the backup's end, read
    /// models at or below it. Blocks on file I/O.
    ///
    /// - Parameter log: the partition's log (a writer's handle while served, or one opened for reading).
    /// - Throws: ``EventLog/EventLogError`` (`invalidArgument` if the copy already holds this
    ///   partition, `corruption` if the copy fails verification), ``Projections/ProjectionsError``.
    public static func backup(
        partition: PartitionID, log: PartitionLog, source: DataDirectory, destination: DataDirectory
    ) throws -> PartitionEntry {
        try FileSystem.createDirectory(destination.path + "/readmodels")
        var readModelsOffset: UInt64?
        let live = ReadModelStore.path(dataDirectory: source, partition: partition)
        let copiedReadModels = ReadModelStore.path(dataDirectory: destination, partition: partition, generation: 0)
        if FileSystem.exists(live) {
            readModelsOffset = try ReadModelStore.backup(live: live, to: copiedReadModels).rawValue
        }
        let copied = try log.backup(to: destination.directory(of: partition))
        var snapshots: [UInt64] = []
        let from = PartitionModel.snapshotDirectory(partitionDirectory: source.directory(of: partition))
        let to = PartitionModel.snapshotDirectory(partitionDirectory: destination.directory(of: partition))
        for name in (try? FileManager.default.contentsOfDirectory(atPath: from)) ?? [] {
            guard name.hasSuffix(".snapshot"), let offset = UInt64(name.dropLast(".snapshot".count)),
                offset <= copied.endOffset.rawValue, let bytes = try? FileSystem.readAll(from + "/" + name)
            else { continue }
            try FileSystem.createDirectory(to)
            try FileSystem.writeAtomically(bytes, to: to + "/" + name)
            snapshots.append(offset)
        }
        // Verified before it counts: the copy reads back whole and ends exactly where it should.
        let report = try LogVerifier.verify(directory: destination.directory(of: partition), partition: partition)
        guard !report.isCorrupt, report.records == copied.endOffset.rawValue else {
            throw EventLogError(
                .corruption,
                "the copy of partition \(partition) does not verify: \(report.records) records of \(copied.endOffset), "
                    + report.findings.map(\.message).joined(separator: "; "),
                path: destination.directory(of: partition))
        }
        if let offset = readModelsOffset, offset > copied.endOffset.rawValue {
            // Cannot happen (read models never pass the durable end); never keep such a copy.
            ReadModelStore.removeDatabase(at: copiedReadModels)
            readModelsOffset = nil
        }
        return PartitionEntry(
            partition: Int(partition.rawValue), endOffset: copied.endOffset.rawValue, segments: copied.segments,
            bytes: copied.bytes, readModelsOffset: readModelsOffset, snapshots: snapshots.sorted())
    }

    /// Writes `backup-<source>.json` into the copy, atomically.
    public static func write(_ manifest: Manifest, to destination: DataDirectory) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let safe = manifest.source.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" }
        try FileSystem.writeAtomically(
            Array(try encoder.encode(manifest)) + [0x0A], to: destination.path + "/backup-\(String(safe)).json")
    }
}
