import Domain
import EventLog
import Partition
import Projections
import Synchronization

/// One partition's read models and the projector keeping them current, and the swap an online
/// rebuild makes between two queries.
final class ReadSide: Sendable {
    private struct Live: Sendable {
        var projector: Projector
        var store: ReadModelStore
    }

    /// Held while catching up (one refresh at a time, mutating the projector in place) and while
    /// swapping in rebuilt read models.
    private let live: Mutex<Live>
    let partition: PartitionID
    let log: any LogReader
    /// Audit pages of this partition's guilds.
    let audit = AuditIndex()
    /// Projections whose stored version differs from the catalog's (they need a rebuild); empty
    /// once rebuilt.
    let staleProjections: Mutex<[String]>

    /// - Parameters:
    ///   - log: the owner's log, whose end moves as appends become durable.
    ///   - seeds: the partition's snapshots (newest first, without idempotency keys) the projector may
    ///     start from instead of the log's first event.
    init(
        data: DataDirectory, partition: PartitionID, log: any LogReader,
        seeds: @escaping @Sendable () -> [PartitionModel],
        catalog: ProjectionCatalog, globalDefaults: [SettingKey: Int64]
    ) throws {
        try FileSystem.createDirectory(data.path + "/readmodels")
        // What a crash left of an online rebuild (an unfinished database, or the generation it replaced).
        ReadModelStore.removeStaleGenerations(dataDirectory: data, partition: partition)
        // Read models of an older projection version keep serving until an online rebuild replaces
        // them (the service must not stop for it); `tally status` and /metrics name them.
        let store = try ReadModelStore(
            path: ReadModelStore.path(dataDirectory: data, partition: partition), catalog: catalog,
            requireCurrentVersions: false)
        let stored = try store.versions()
        self.partition = partition
        self.log = log
        staleProjections = Mutex(catalog.all.filter { stored[$0.name] != $0.version }.map(\.name))
        var projector = Projector(log: log, store: store, globalDefaults: globalDefaults)
        projector.seeds = seeds
        live = Mutex(Live(projector: projector, store: store))
    }

    /// Applies what the log has gained since the last call (on the I/O pool) and returns the store.
    func refreshed() async throws -> ReadModelStore {
        try await BlockingIOPool.shared.run { [self] in
            try live.withLock { live in
                _ = try live.projector.catchUp()
                return live.store
            }
        }
    }

    /// The snapshot offset the read models were first caught up from (see ``Projections/Projector/seededAt``).
    var seededAt: Offset? { live.withLock { $0.projector.seededAt } }

    /// The offset the live read models reflect.
    var checkpoint: Offset { live.withLock { $0.projector.model.nextOffset } }

    /// What a swap hands back: the replaced read models (frozen), and a comparison pinned to both
    /// as they were at the swap.
    struct Swap: Sendable {
        var old: ReadModelStore
        var new: ReadModelStore
        var offset: Offset
        /// The offset the replaced read models reflect: `offset`, unless they could not follow the
        /// log (a projection whose columns changed cannot be written by this build), and then the
        /// diff also shows what the events between the two did.
        var oldOffset: Offset
        var diff: ReadModelDiff.Pinned
    }

    /// Brings the live read models and `staged` to the same offset, installs `staged` and makes it
    /// the live one, all while holding the refresh lock: a query that refreshes waits for the swap
    /// and then reads the new read models; one that already holds the old store reads it as of the
    /// swap (it stays open until the last such query drops it). Blocks: call it on a thread of its own.
    func swap(in staged: StagedRebuild) throws -> Swap {
        var staged = staged
        return try live.withLock { live in
            let end = log.endOffset
            // Read models this build cannot write (their columns changed) stay where they are.
            _ = try? live.projector.catchUp(to: end)
            let oldOffset = live.projector.model.nextOffset
            try staged.catchUp(to: end)
            let projector = try staged.install()
            let diff = try ReadModelDiff.Pinned(old: live.store.path, new: projector.store.path)
            let old = live.store
            live = Live(projector: projector, store: projector.store)
            staleProjections.withLock { stale in
                stale.removeAll { name in staged.projections.contains { $0.name == name } }
            }
            return Swap(old: old, new: projector.store, offset: end, oldOffset: oldOffset, diff: diff)
        }
    }
}
