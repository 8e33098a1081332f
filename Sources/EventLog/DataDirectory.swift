import Foundation

/// A Tally data directory: a manifest (`tally.json`) fixing the partition count and the guild hash,
/// and one directory per partition under `partitions/`.
///
/// `partition = StableHash.mix64(guild) % partitionCount`. Both numbers are part of the on-disk
/// format: written when the directory is created and never changed silently, so a guild's events
/// always live in the same partition.
public struct DataDirectory: Sendable {
    public let path: String
    public let partitionCount: Int

    /// The partition count a new data directory gets unless told otherwise.
    public static let defaultPartitionCount = 16
    static let manifestName = "tally.json"
    static let hashName = "splitmix64-mod"

    struct Manifest: Codable {
        var format: Int
        var partitionCount: Int
        var partitionHash: String
    }

    /// Opens a data directory, creating it with `partitionCount` partitions if it does not exist.
    ///
    /// - Throws: ``EventLogError`` with code `invalidArgument` if the directory exists with another
    ///   partition count than the one asked for, `unsupportedFormat` for an unknown hash or format.
    public static func open(path: String, creatingWith partitionCount: Int? = nil) throws -> DataDirectory {
        let manifestPath = FileSystem.join(path, manifestName)
        if FileSystem.exists(manifestPath) {
            let bytes = try FileSystem.readAll(manifestPath)
            guard let manifest = try? JSONDecoder().decode(Manifest.self, from: Data(bytes)) else {
                throw EventLogError(.corruption, "data directory manifest is not valid JSON", path: manifestPath)
            }
            guard manifest.format == 1, manifest.partitionHash == hashName, manifest.partitionCount > 0 else {
                throw EventLogError(
                    .unsupportedFormat, "data directory has format \(manifest.format), hash \(manifest.partitionHash)",
                    path: manifestPath)
            }
            if let partitionCount, partitionCount != manifest.partitionCount {
                throw EventLogError(
                    .invalidArgument,
                    "data directory has \(manifest.partitionCount) partitions; it cannot be reopened with \(partitionCount)",
                    path: manifestPath)
            }
            return DataDirectory(path: path, partitionCount: manifest.partitionCount)
        }
        guard let partitionCount else {
            throw EventLogError(.notFound, "not a Tally data directory (no \(manifestName))", path: path)
        }
        guard partitionCount > 0, partitionCount <= 65_536 else {
            throw EventLogError(.invalidArgument, "partition count must be between 1 and 65536, not \(partitionCount)")
        }
        try FileSystem.createDirectory(FileSystem.join(path, "partitions"))
        let manifest = Manifest(format: 1, partitionCount: partitionCount, partitionHash: hashName)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = (try? encoder.encode(manifest)) ?? Data()
        try FileSystem.writeAtomically(Array(data) + [0x0A], to: manifestPath)
        return DataDirectory(path: path, partitionCount: partitionCount)
    }

    /// The partition that holds `guild`'s events.
    public func partition(for guild: GuildID) -> PartitionID {
        DataDirectory.partition(for: guild, count: partitionCount)
    }

    /// The partition that holds `guild`'s events among `count` (in any store: the same hash).
    public static func partition(for guild: GuildID, count: Int) -> PartitionID {
        PartitionID(UInt32(StableHash.mix64(guild.rawValue) % UInt64(count)))
    }

    /// The directory of one partition's log.
    public func directory(of partition: PartitionID) -> String {
        FileSystem.join(FileSystem.join(path, "partitions"), partition.directoryName)
    }

    /// Every partition, in order.
    public var partitions: [PartitionID] { (0..<partitionCount).map { PartitionID(UInt32($0)) } }

    /// The partitions whose log directory exists (has been written at least once).
    public var existingPartitions: [PartitionID] {
        partitions.filter { FileSystem.isDirectory(directory(of: $0)) }
    }
}
