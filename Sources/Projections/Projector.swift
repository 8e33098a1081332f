public import Domain
public import EventLog
import Logging
import Partition

/// Keeps one partition's read models up to date with its log.
///
/// On start it replays the log up to the database's checkpoint into memory without writing (the
/// rows already reflect it), then applies the rest, writing changed rows and the new checkpoint in
/// one transaction every ``flushEvery`` events and at the end. Killed at any moment, it restarts
/// from the last committed checkpoint; the result equals a full rebuild.
public struct Projector: Sendable {
    public let log: PartitionLog
    public let store: ReadModelStore
    public private(set) var model: ProjectionModel
    /// Events between two committed writes. Default 50,000.
    public var flushEvery = 50_000
    private var restored = false

    public init(log: PartitionLog, store: ReadModelStore, globalDefaults: [SettingKey: Int64] = [:]) {
        self.log = log
        self.store = store
        self.model = ProjectionModel(globalDefaults: globalDefaults)
    }

    /// A projector whose `store` already holds `model`'s rows up to `model.nextOffset` (a rebuild
    /// that just wrote them): it continues from there without replaying.
    init(log: PartitionLog, store: ReadModelStore, restored model: ProjectionModel) {
        self.log = log
        self.store = store
        self.model = model
        self.model.tracksChanges = true
        self.restored = true
    }

    /// Progress of a long catch-up: events applied so far and the log's end.
    public typealias Progress = (_ applied: UInt64, _ end: Offset) -> Void

    /// Brings the read models up to the log's current end, or to `target` (clamped to the end).
    ///
    /// - Returns: the number of events applied and written.
    @discardableResult
    public mutating func catchUp(to target: Offset? = nil, progress: Progress? = nil) throws -> UInt64 {
        if !restored {
            let checkpoint = try store.checkpoint()
            try replay(to: checkpoint)
            model.clearDirty()
            restored = true
        }
        let end = min(target ?? log.endOffset, log.endOffset)
        guard end > model.nextOffset else { return 0 }
        var applied: UInt64 = 0
        var sinceFlush = 0
        try log.forEachEvent(LogQuery(from: model.nextOffset, to: end)) { event in
            model.apply(event)
            applied += 1
            sinceFlush += 1
            if sinceFlush >= flushEvery {
                try store.write(&model)
                sinceFlush = 0
                progress?(applied, end)
            }
        }
        if model.nextOffset < end { model.advance(to: end) }
        try store.write(&model)
        progress?(applied, end)
        return applied
    }

    /// Folds the log below `offset` into memory only.
    private mutating func replay(to offset: Offset) throws {
        guard offset > .zero else { return }
        model.tracksChanges = false
        defer { model.tracksChanges = true }
        try log.forEachEvent(LogQuery(to: offset)) { model.apply($0) }
        model.advance(to: offset)
    }
}
