public import Domain
public import EventLog
import Foundation

/// Snapshots of a partition's state, so that acquiring a partition replays only the log's tail.
///
/// A snapshot file `snapshots/<offset>.snapshot` in the partition's directory holds: the magic
/// `TLYS`, the format version (1), the partition, the offset after the last event it reflects, the
/// number of guilds, each guild's state (``Domain/GuildState`` snapshot encoding), and a CRC-32C
/// of everything before it. It is written to a temporary file, fsynced and renamed; a damaged or
/// unknown snapshot is skipped (the log is the truth), and the two newest are kept.
extension PartitionModel {
    static let snapshotMagic: [UInt8] = Array("TLYS".utf8)

    /// The directory holding a partition's snapshots.
    public static func snapshotDirectory(partitionDirectory: String) -> String {
        FileLogStore.snapshotDirectory(partitionDirectory: partitionDirectory)
    }

    /// Writes a snapshot of this model and removes all but the two newest.
    ///
    /// - Returns: the snapshot's path.
    @discardableResult
    public func writeSnapshot(partition: PartitionID, partitionDirectory: String) throws -> String {
        try FileLogStore.writeSnapshot(
            encodeSnapshot(partition: partition), partitionDirectory: partitionDirectory, offset: nextOffset)
    }

    /// Writes a snapshot of this model to `store` (for PostgreSQL: only while `epoch` owns the partition).
    public func writeSnapshot(to store: any LogStore, partition: PartitionID, epoch: Epoch) async throws {
        try await store.writeSnapshot(
            encodeSnapshot(partition: partition), partition: partition, offset: nextOffset, epoch: epoch)
    }

    /// Loads the newest snapshot in `store` that decodes and does not lie past `end` (a snapshot past
    /// the log's end describes events that never became durable), or nil.
    public static func loadNewestSnapshot(
        from store: any LogStore, partition: PartitionID, end: Offset, globalDefaults: [SettingKey: Int64] = [:],
        remembersKeys: Bool = true
    ) async throws -> PartitionModel? {
        try await loadSnapshots(
            from: store, partition: partition, end: end, globalDefaults: globalDefaults, remembersKeys: remembersKeys,
            limit: 1
        ).first
    }

    /// The snapshots in `store` that decode and do not lie past `end`, newest first, at most `limit`.
    public static func loadSnapshots(
        from store: any LogStore, partition: PartitionID, end: Offset, globalDefaults: [SettingKey: Int64] = [:],
        remembersKeys: Bool = true, limit: Int = .max
    ) async throws -> [PartitionModel] {
        decodeSnapshots(
            try await store.snapshots(of: partition), partition: partition, end: end, globalDefaults: globalDefaults,
            remembersKeys: remembersKeys, limit: limit)
    }

    /// The `snapshots` (newest first) that decode and do not lie past `end`, at most `limit`.
    public static func decodeSnapshots(
        _ snapshots: [StoredSnapshot], partition: PartitionID, end: Offset, globalDefaults: [SettingKey: Int64] = [:],
        remembersKeys: Bool = true, limit: Int = .max
    ) -> [PartitionModel] {
        var models: [PartitionModel] = []
        for snapshot in snapshots where snapshot.offset <= end {
            guard models.count < limit else { break }
            if let model = try? decodeSnapshot(
                snapshot.bytes, partition: partition, globalDefaults: globalDefaults, remembersKeys: remembersKeys)
            {
                models.append(model)
            }
        }
        return models
    }

    /// The bytes of a snapshot file of this model (see the type's discussion for the layout).
    package func encodeSnapshot(partition: PartitionID) -> [UInt8] {
        var w = ByteWriter(capacity: 1 << 20)
        w.write(bytes: PartitionModel.snapshotMagic)
        w.write(GuildState.snapshotVersion)
        w.write(partition.rawValue)
        w.write(nextOffset.rawValue)
        w.writeVarint(UInt64(guilds.count))
        for state in guilds.values { state.encodeSnapshot(into: &w) }
        w.write(CRC32C.checksum(w.bytes))
        return w.bytes
    }

    /// Loads the newest readable snapshot, or nil when there is none.
    public static func loadNewestSnapshot(
        partition: PartitionID, partitionDirectory: String, globalDefaults: [SettingKey: Int64] = [:],
        remembersKeys: Bool = true
    ) -> PartitionModel? {
        for path in FileLogStore.snapshotPaths(partitionDirectory: partitionDirectory).reversed() {
            if let model = try? load(
                path, partition: partition, globalDefaults: globalDefaults, remembersKeys: remembersKeys)
            {
                return model
            }
        }
        return nil
    }

    static func load(
        _ path: String, partition: PartitionID, globalDefaults: [SettingKey: Int64], remembersKeys: Bool
    ) throws -> PartitionModel? {
        try decodeSnapshot(
            try FileSystem.readAll(path), partition: partition, globalDefaults: globalDefaults,
            remembersKeys: remembersKeys)
    }

    /// Decodes a snapshot file's bytes; nil when its checksum, magic, version or partition do not match.
    ///
    /// - Throws: `ByteReader.Overrun` when a length or count inside runs past the bytes.
    package static func decodeSnapshot(
        _ bytes: [UInt8], partition: PartitionID, globalDefaults: [SettingKey: Int64], remembersKeys: Bool
    ) throws -> PartitionModel? {
        guard bytes.count > 21 else { return nil }
        let body = bytes.count - 4
        let stored = bytes.withUnsafeBytes {
            UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: body, as: UInt32.self))
        }
        guard bytes.withUnsafeBytes({ CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[..<body])) }) == stored else {
            return nil
        }
        return try bytes.withUnsafeBytes { raw -> PartitionModel? in
            var r = ByteReader(UnsafeRawBufferPointer(rebasing: raw[..<body]))
            guard Array(try r.readBytes(4)) == snapshotMagic, try r.read(UInt8.self) == GuildState.snapshotVersion,
                try r.read(UInt32.self) == partition.rawValue
            else { return nil }
            var model = PartitionModel(globalDefaults: globalDefaults, remembersKeys: remembersKeys)
            let offset = Offset(try r.read(UInt64.self))
            let count = try r.readVarint()
            guard count <= UInt64(r.remaining) else { return nil }
            for _ in 0..<count {
                let state = try GuildState.decodeSnapshot(
                    from: &r, globalDefaults: globalDefaults, remembersKeys: remembersKeys)
                model.restore(state)
            }
            guard r.isAtEnd else { return nil }
            model.advance(to: offset)
            return model
        }
    }

    /// Renames every snapshot that reflects records at or past `end` to `<name>.set-aside-<end>`,
    /// so that none is loaded once the log grows past it again: after `tally log repair` cut the
    /// log at `end`, such a snapshot holds state of records that no longer exist.
    ///
    /// - Returns: the new paths.
    /// - Throws: ``EventLog/EventLogError`` `io` when a snapshot cannot be renamed.
    public static func setAsideSnapshots(partitionDirectory: String, pastEnd end: Offset) throws -> [String] {
        var moved: [String] = []
        for path in FileLogStore.snapshotPaths(partitionDirectory: partitionDirectory) {
            let name = path.split(separator: "/").last.map(String.init) ?? ""
            guard let offset = UInt64(name.dropLast(".snapshot".count)), offset > end.rawValue else { continue }
            let aside = path + ".set-aside-\(end.rawValue)"
            try FileSystem.rename(path, to: aside)
            moved.append(aside)
        }
        if !moved.isEmpty { try FileSystem.syncDirectory(snapshotDirectory(partitionDirectory: partitionDirectory)) }
        return moved
    }
}
