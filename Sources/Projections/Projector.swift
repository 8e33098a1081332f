public import Domain
public import EventLog
import Logging
public import Partition

/// Keeps one partition's read models up to date with its log.
///
/// On start it replays the log up to the database's checkpoint into memory without writing (the
/// rows already reflect it), then applies the rest, writing changed rows and the new checkpoint in
/// one transaction every ``flushEvery`` events and at the end. Killed at any moment, it restarts
/// from the last committed checkpoint; the result equals a full rebuild.
///
/// Given the partition's snapshots (``seeds``), it starts from one instead of the log's first event:
/// into empty read models (a process that has never served the partition, on any machine) it writes
/// the newest snapshot at or below the log's end and applies only the events after it; into read
/// models with a checkpoint it replays from the newest snapshot at or below that checkpoint.
public struct Projector: Sendable {
    public let log: any LogReader
    public let store: ReadModelStore
    public private(set) var model: ProjectionModel
    /// States of the partition from its snapshots, newest first, decoded without idempotency keys
    /// (see ``Partition/PartitionModel/decodeSnapshots(_:partition:end:globalDefaults:remembersKeys:limit:)``),
    /// that the first catch-up may start from; called once, by it (so decoding happens where it runs).
    /// Default: none (fold from the log's start).
    public var seeds: @Sendable () -> [PartitionModel] = { [] }
    /// The snapshot offset the first catch-up started from into empty read models; nil when it
    /// folded from the log's start or from the read models' checkpoint.
    public private(set) var seededAt: Offset?
    /// Seeded, and the snapshot's rows not written yet.
    private var seedUnwritten = false
    /// Events between two committed writes. Default 50,000.
    public var flushEvery = 50_000
    private var restored = false

    public init(log: any LogReader, store: ReadModelStore, globalDefaults: [SettingKey: Int64] = [:]) {
        self.log = log
        self.store = store
        self.model = ProjectionModel(globalDefaults: globalDefaults)
    }

    /// A projector whose `store` already holds `model`'s rows up to `model.nextOffset` (a rebuild
    /// that just wrote them): it continues from there without replaying.
    init(log: any LogReader, store: ReadModelStore, restored model: ProjectionModel) {
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
            let end = log.endOffset
            let seeds = self.seeds()
            self.seeds = { [] }
            if checkpoint == .zero, let seed = seeds.first(where: { $0.nextOffset <= end && $0.nextOffset > .zero }) {
                // Empty read models: every row of the snapshot is written with the first flush.
                model = ProjectionModel(snapshot: seed)
                model.markEverythingDirty()
                seededAt = seed.nextOffset
                seedUnwritten = true
            } else {
                try replay(from: seeds.first { $0.nextOffset <= checkpoint }, to: checkpoint)
                model.clearDirty()
            }
            restored = true
        }
        let end = min(target ?? log.endOffset, log.endOffset)
        guard end > model.nextOffset else {
            // Seeded at the log's end: the snapshot's rows still need their first write.
            if seedUnwritten {
                try store.write(&model)
                seedUnwritten = false
            }
            return 0
        }
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
        seedUnwritten = false
        progress?(applied, end)
        return applied
    }

    /// Folds the log below `offset` into memory only, from `seed` (a snapshot below it) when given.
    private mutating func replay(from seed: PartitionModel?, to offset: Offset) throws {
        guard offset > .zero else { return }
        if let seed { model = ProjectionModel(snapshot: seed) }
        model.tracksChanges = false
        defer { model.tracksChanges = true }
        try log.forEachEvent(LogQuery(from: model.nextOffset, to: offset)) { model.apply($0) }
        model.advance(to: offset)
    }
}
