public import Domain
public import EventLog
import Foundation
import GRDB
import Partition

/// An online rebuild of one partition's read models: built from offset 0 beside the live database
/// while the service keeps serving it, caught up with the log, then installed as the partition's next
/// generation (see ``ReadModelStore/path(dataDirectory:partition:)``) for the caller to swap in
/// between two queries.
///
/// The steps: ``start(data:partition:log:livePath:catalog:only:globalDefaults:progress:)`` builds the
/// new database up to about the log's end (the long part); ``catchUp(to:progress:)`` follows the log
/// (call it until little is left); ``install()``, with the live projector paused, closes the new
/// database, renames it into place and returns a projector over it that continues from where the
/// build stopped. ``abandon()`` deletes it instead.
public struct StagedRebuild: Sendable {
    public let partition: PartitionID
    /// The generation the new database becomes.
    public let generation: Int
    /// Where it is built (`pNNNNN.gK.sqlite.building`).
    public let stagingPath: String
    /// Where it is installed (`pNNNNN.gK.sqlite`).
    public let targetPath: String
    /// The projections built from offset 0 (the others were copied from the live database).
    public let projections: [ProjectionCatalog.Projection]
    private var projector: Projector
    private let catalog: ProjectionCatalog

    /// The offset the new database reflects.
    public var checkpoint: Offset { projector.model.nextOffset }

    /// Builds the new database from offset 0 up to the log's end as it is now.
    ///
    /// With `only`, the live database is first copied through SQLite's online backup (a consistent
    /// view at its checkpoint), the selected projections' tables are dropped and rebuilt from offset
    /// 0 up to that checkpoint, and from there every projection follows the log. Without it, every
    /// projection is built anew.
    ///
    /// - Parameters:
    ///   - livePath: the live database (nil when there is none yet).
    ///   - progress: called every 100,000 events and at the end with the events folded and the target.
    /// - Throws: ``ProjectionsError`` `notFound` for an unknown projection name, `storage`.
    public static func start(
        data: DataDirectory, partition: PartitionID, log: any LogReader, livePath: String?,
        catalog: ProjectionCatalog = .current, only: Set<String>? = nil, globalDefaults: [SettingKey: Int64] = [:],
        progress: Projector.Progress? = nil
    ) throws -> StagedRebuild {
        if let only, let unknown = only.sorted().first(where: { catalog.projection(named: $0) == nil }) {
            throw ProjectionsError(
                .notFound, "no projection named \(unknown); they are \(catalog.all.map(\.name).joined(separator: ", "))"
            )
        }
        try FileSystem.createDirectory(data.path + "/readmodels")
        ReadModelStore.removeStaleGenerations(dataDirectory: data, partition: partition)
        let generation = ReadModelStore.nextGeneration(dataDirectory: data, partition: partition)
        let target = ReadModelStore.path(dataDirectory: data, partition: partition, generation: generation)
        let staging = target + ".building"
        let copying = only != nil && livePath.map { FileManager.default.fileExists(atPath: $0) } == true
        // Without a live database to copy the others from, every projection is built.
        let selected = catalog.all.filter { !copying || only?.contains($0.name) == true }
        do {
            if copying, let livePath {
                // A connection of its own: the live store's connection keeps serving queries meanwhile.
                var readOnly = Configuration()
                readOnly.readonly = true
                readOnly.busyMode = .timeout(10)  // the live writer may hold a checkpoint for a moment
                let live = try DatabaseQueue(path: livePath, configuration: readOnly)
                let copy = try DatabaseQueue(path: staging)
                try live.backup(to: copy)
                try live.close()
                try copy.write { db in
                    for p in selected { for table in p.tables { try db.execute(sql: "DROP TABLE IF EXISTS \(table)") } }
                }
                try copy.close()
            }
        } catch {
            ReadModelStore.removeDatabase(at: staging)
            throw ProjectionsError(.storage, "cannot copy the live read models", path: staging, underlying: error)
        }
        do {
            let store = try ReadModelStore(path: staging, catalog: catalog, requireCurrentVersions: false)
            try store.setVersions(selected)
            // Fold up to the copy's checkpoint (copying) or the log's end, then write every row of
            // the rebuilt projections at once.
            let end = copying ? try store.checkpoint() : log.endOffset
            let folded = try ProjectionModel.folded(
                log, to: end, globalDefaults: globalDefaults, progressEvery: 100_000, progress: progress)
            var model = folded.model
            try store.write(&model, only: Set(selected.map(\.name)))
            progress?(folded.events, end)
            return StagedRebuild(
                partition: partition, generation: generation, stagingPath: staging, targetPath: target,
                projections: selected, projector: Projector(log: log, store: store, restored: model),
                catalog: catalog)
        } catch {
            ReadModelStore.removeDatabase(at: staging)
            throw error
        }
    }

    /// Applies what the log gained since, up to `target` (default: its end).
    ///
    /// - Returns: the number of events applied.
    @discardableResult
    public mutating func catchUp(to target: Offset? = nil, progress: Projector.Progress? = nil) throws -> UInt64 {
        try projector.catchUp(to: target, progress: progress)
    }

    /// Closes the new database, renames it to its generation's name (the commit) and returns a
    /// projector over it that continues from ``checkpoint``. The caller swaps it in.
    public func install() throws -> Projector {
        do {
            try projector.store.read { db in _ = try db.checkpoint(.truncate) }
            try projector.store.close()
            try FileSystem.rename(stagingPath, to: targetPath)
            try FileSystem.syncDirectory(FileSystem.directory(of: targetPath))
            let store = try ReadModelStore(path: targetPath, catalog: catalog, requireCurrentVersions: false)
            return Projector(log: projector.log, store: store, restored: projector.model)
        } catch let error as ProjectionsError {
            throw error
        } catch {
            throw ProjectionsError(
                .storage, "cannot install the rebuilt read models", path: targetPath, underlying: error)
        }
    }

    /// Closes and deletes the new database (the rebuild is given up).
    public func abandon() {
        try? projector.store.close()
        ReadModelStore.removeDatabase(at: stagingPath)
    }
}
