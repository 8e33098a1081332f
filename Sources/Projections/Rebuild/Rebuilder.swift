public import Domain
public import EventLog
import Foundation
import GRDB
import Partition

/// Builds a partition's read models anew from offset 0 beside the live database, reports what
/// changed, and swaps the new database in atomically: `tally rebuild`.
public struct Rebuilder {
    public let log: any LogReader
    /// The live database (it need not exist yet).
    public let livePath: String
    public let catalog: ProjectionCatalog
    public var globalDefaults: [SettingKey: Int64] = [:]

    public init(log: any LogReader, livePath: String, catalog: ProjectionCatalog = .current) {
        self.log = log
        self.livePath = livePath
        self.catalog = catalog
    }

    public struct Report: Sendable {
        public var events: UInt64
        public var projections: [ProjectionCatalog.Projection]
        public var diff: ReadModelDiff
        public var seconds: Double
    }

    /// Rebuilds `only` these projections (all when nil) and swaps the result in.
    ///
    /// The live database stays readable throughout; the swap is a `rename(2)`, so a reader sees the
    /// old or the new database, never a mix. Stop any projector writing the live database first.
    public func rebuild(only: Set<String>? = nil, progress: ((UInt64, Offset) -> Void)? = nil) throws -> Report {
        let start = ContinuousClock.now
        if let only, let unknown = only.first(where: { catalog.projection(named: $0) == nil }) {
            throw ProjectionsError(
                .notFound, "no projection named \(unknown); they are \(catalog.all.map(\.name).joined(separator: ", "))"
            )
        }
        let selected = catalog.all.filter { only?.contains($0.name) ?? true }
        let newPath = livePath + ".rebuild"
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: newPath + suffix) }
        let liveExists = FileManager.default.fileExists(atPath: livePath)

        // 1. Start the new database: a copy of the live one when only some projections change.
        if only != nil, liveExists {
            let live = try DatabaseQueue(path: livePath)
            let copy = try DatabaseQueue(path: newPath)
            try live.backup(to: copy)
            try live.close()
            // Drop the selected projections' tables: a new version may have changed their columns.
            try copy.write { db in
                for p in selected { for table in p.tables { try db.execute(sql: "DROP TABLE IF EXISTS \(table)") } }
            }
            try copy.close()
        }
        let store = try ReadModelStore(path: newPath, catalog: catalog, requireCurrentVersions: false)
        try store.setVersions(selected)

        // 2. Fold the whole log into memory, then write every row of the selected projections.
        let end = log.endOffset
        let folded = try ProjectionModel.folded(
            log, to: end, globalDefaults: globalDefaults, progressEvery: 1_000_000, progress: progress)
        var model = folded.model
        try store.write(&model, only: Set(selected.map(\.name)))
        progress?(folded.events, end)
        try store.read { db in _ = try db.checkpoint(.truncate) }
        try store.close()

        // 3. Diff, then swap atomically.
        let diff = liveExists ? try ReadModelDiff.compare(live: livePath, rebuilt: newPath) : ReadModelDiff()
        if liveExists {
            let live = try DatabaseQueue(path: livePath)
            try live.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
            try live.close()
        }
        guard rename(newPath, livePath) == 0 else {
            throw ProjectionsError(.storage, "cannot swap the rebuilt database in", path: newPath)
        }
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: newPath + suffix) }
        return Report(
            events: folded.events, projections: selected, diff: diff, seconds: (ContinuousClock.now - start).seconds)
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
