public import Coordinator
public import Domain
public import EventLog
public import Logging
import Metrics
import Partition
public import Projections
import Synchronization

/// The partitions a shard process serves, with their owners (the write side) and read models.
///
/// Partitions are acquired on first use: the owner takes the next epoch after the partition's
/// fence, so every start of a node fences out any earlier writer. Read models are brought up to
/// date with the log before each query, so a client reads its own acknowledged writes.
public actor ShardNode {
    public struct Configuration: Sendable {
        /// The local data directory: read models, keys and secrets, and (without ``store``) the logs.
        public var data: DataDirectory
        /// Where partition logs and snapshots are kept. Default nil: the files of ``data``. With a
        /// shared store (PostgreSQL), nothing of the log is read from or written to ``data``; its
        /// partition count must equal the store's.
        public var store: (any LogStore)?
        /// Deployment-wide setting defaults under every guild's overrides.
        public var globalDefaults: [SettingKey: Int64] = [:]
        /// Events between two snapshots of a partition. Default 100,000.
        public var snapshotEvery = 100_000
        /// The deployment secret raffle seeds derive from. Default: 32 random bytes, which suits only
        /// a node whose periods never outlive it (tests); a deployment passes its saved secret.
        public var raffleSecret: [UInt8] = (0..<32).map { _ in UInt8.random(in: 0...255) }
        /// Where the timers fetch the drand value of an ended period's round. Default nil: the value
        /// comes only from a `record_beacon` command.
        public var beacon: (any RandomnessBeacon)?
        /// The read-model projections and their versions. Default ``Projections/ProjectionCatalog/current``.
        public var catalog: ProjectionCatalog = .current
        /// How long a partition waits before it is acquired again after a failed append or a failed
        /// acquisition. Default ``ReacquireBackoff/init()`` (250 ms doubling to 30 s, with jitter).
        public var reacquireBackoff = ReacquireBackoff()

        public init(data: DataDirectory, store: (any LogStore)? = nil) {
            self.data = data
            self.store = store
        }

        /// The store in effect: ``store``, or the files of ``data``.
        public var logStore: any LogStore { store ?? FileLogStore(data: data) }
    }

    public let configuration: Configuration
    let logger: Logger
    private typealias Ownership = PartitionOwnership<PartitionOwner, CheckedContinuation<PartitionOwner, any Error>>
    /// Each partition's ownership state machine (absent: idle).
    private var partitions: [PartitionID: Ownership] = [:] {
        didSet {
            publishStates()
            let owners = partitions.compactMapValues { $0.servingOwner }
            serving.withLock { $0 = owners }
        }
    }
    /// The owners of the partitions being served now, readable without this actor: a command for a
    /// served partition goes straight to its owner (one hop fewer per command).
    private nonisolated let serving = Mutex<[PartitionID: PartitionOwner]>([:])
    /// This node's share of `tally_partitions{state}`, as last added to the process-wide gauges.
    private var publishedStates: [String: Int] = [:]
    /// The partitions this node last reported as quarantined in `tally_partition_quarantined{partition}`.
    private var publishedQuarantine: Set<PartitionID> = []
    /// In a multi-process cluster, the partitions the coordinator granted this node, with their
    /// epochs; nil when the node serves every partition (one process, or a local cluster).
    private var granted: [PartitionID: Epoch]?
    private var readSides: [PartitionID: ReadSide] = [:]
    /// The jitter of the reacquire backoff.
    private var random = SystemRandomNumberGenerator()

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// The owner of the partition holding `guild`, acquiring it on first use.
    public func owner(for guild: GuildID) async throws -> PartitionOwner {
        try await owner(of: configuration.data.partition(for: guild))
    }

    /// The owner of `partition`, acquiring it on first use (concurrent callers share one acquisition).
    ///
    /// - Throws: ``ShardError`` `notOwner` when the coordinator has not granted the partition,
    ///   `unavailable` while it is being released or backs off after a failure (with the time to
    ///   retry after), `partitionDamaged` while it is quarantined; the acquisition's error when it fails.
    public func owner(of partition: PartitionID) async throws -> PartitionOwner {
        let allowed = granted.map { $0[partition] != nil } ?? true
        let refusal =
            allowed
            ? ShardError(.unavailable, "partition \(partition) is being released")
            : ShardError(.notOwner, "partition \(partition) is not held by this shard")
        switch partitions[partition, default: Ownership()].request(allowed: allowed, now: .now) {
        case .serve(let owner):
            guard owner.hasFailed else { return owner }
            throw await recover(partition, from: owner, cause: ShardError(.unavailable, "an append failed"))
        case .refuse:
            throw refusal
        case .backOff(let cause, let retryAfter):
            throw ShardError(
                .unavailable, "partition \(partition) is recovering from a failure; retry", underlying: cause,
                retryAfter: retryAfter ?? configuration.reacquireBackoff.initial)
        case .damaged(let error):
            throw Self.damaged(partition, error)
        case .acquire:
            return try await acquire(partition)
        case .wait:
            return try await withCheckedThrowingContinuation { continuation in
                switch partitions[partition, default: Ownership()].wait(continuation) {
                case .queued: break
                case .serve(let owner): continuation.resume(returning: owner)
                case .refuse: continuation.resume(throwing: refusal)
                }
            }
        }
    }

    /// The answer for a quarantined partition.
    private static func damaged(_ partition: PartitionID, _ error: any Error) -> ShardError {
        let damage = PartitionDamage(partition: partition, error: error)
        return ShardError(
            .partitionDamaged,
            (damage?.summary ?? "partition \(partition) is damaged")
                + "; it is quarantined until `tally log repair` and a restart",
            underlying: error, damage: damage)
    }

    /// Acquires `partition` (lock, epoch, snapshot and replay), feeds the result back to its state
    /// machine, and hands the owner to every request that waited for it. Damage inside acknowledged
    /// data quarantines the partition; any other failure backs off before the next attempt.
    private func acquire(_ partition: PartitionID) async throws -> PartitionOwner {
        let (store, defaults, every, logger) = (
            configuration.logStore, configuration.globalDefaults, configuration.snapshotEvery, self.logger
        )
        let owner: PartitionOwner
        do {
            // The coordinator's epoch, raised past the partition's fence if the data directory
            // saw later owners (epochs only ever rise). A shared store raises it past its own fence
            // in the same statement that takes the partition.
            var fence: UInt64 = 0
            if let files = store as? FileLogStore {
                fence = try PartitionManifest.load(directory: files.data.directory(of: partition))?.fencedEpoch ?? 0
            }
            let epoch = max(granted?[partition]?.rawValue ?? 0, fence + 1)
            owner = try await PartitionOwner.acquire(
                store: store, partition: partition, epoch: Epoch(epoch), globalDefaults: defaults,
                snapshotEvery: every, logger: logger)
        } catch {
            if let damage = PartitionDamage(partition: partition, error: error) {
                logger.critical(
                    "partition quarantined: its log is damaged inside acknowledged data",
                    metadata: [
                        "partition": "\(partition)", "damage.file": "\(damage.file)",
                        "damage.position": "\(damage.position)", "damage.reason": "\(damage.reason)",
                    ])
                let refusal = Self.damaged(partition, error)
                for waiter in partitions[partition, default: Ownership()].quarantine(error) {
                    waiter.resume(throwing: refusal)
                }
                throw refusal
            }
            let failures = (partitions[partition]?.failuresSoFar ?? 0) + 1
            let delay = backoff(afterFailures: failures)
            logger.error(
                "partition acquisition failed",
                metadata: [
                    "partition": "\(partition)", "error": "\(error)", "retry.after": "\(delay)",
                    "failures": "\(failures)",
                ])
            // Answered like the backoff that follows: 503 with Retry-After, the cause underneath.
            let unavailable = ShardError(
                .unavailable, "partition \(partition) could not be acquired; retry", underlying: error,
                retryAfter: delay)
            for waiter in partitions[partition, default: Ownership()].acquisitionFailed(error, retryAt: .now + delay) {
                waiter.resume(throwing: unavailable)
            }
            throw unavailable
        }
        // Re-checked after the await: the node may have been told to drop the partition meanwhile.
        switch partitions[partition, default: Ownership()].acquired(owner) {
        case .serve(let owner, let waiters):
            for waiter in waiters { waiter.resume(returning: owner) }
            if configuration.store != nil { Task { await self.prepareReadSide(partition, owner: owner) } }
            return owner
        case .release(let owner, let waiters):
            let refusal = ShardError(.unavailable, "partition \(partition) was released while it was acquired")
            for waiter in waiters { waiter.resume(throwing: refusal) }
            await owner.release()
            partitions[partition]?.released()
            throw refusal
        }
    }

    /// The backoff after `failures` failures in a row, jittered.
    private func backoff(afterFailures failures: Int) -> Duration {
        configuration.reacquireBackoff.delay(afterFailures: failures, unit: Double.random(in: 0..<1, using: &random))
    }

    /// An owner's append failed: releases it (its log cuts what was never acknowledged) and backs
    /// off; the first request (or timer round) after the backoff acquires the partition again, which
    /// recovers the log's tail and replays it. Returns the error for the request that noticed.
    private func recover(_ partition: PartitionID, from owner: PartitionOwner, cause: any Error) async -> ShardError {
        let delay = backoff(afterFailures: 1)
        let answer = ShardError(
            .unavailable, "partition \(partition) is recovering from a failed append; retry", underlying: cause,
            retryAfter: delay)
        guard
            case .release(let failed) = partitions[partition, default: Ownership()].ownerFailed(
                cause, isCurrent: { $0 === owner })
        else { return answer }
        logger.warning(
            "releasing partition after a failed append; it is acquired again after a backoff",
            metadata: ["partition": "\(partition)", "retry.after": "\(delay)"])
        readSides[partition] = nil
        await failed.release()
        partitions[partition]?.recoveryReleased(retryAt: .now + delay)
        return answer
    }

    /// Acquires again every partition whose backoff after a failure has passed, so a partition
    /// recovers without waiting for a request (the timer service calls this every round).
    ///
    /// - Returns: the partitions acquired again.
    @discardableResult
    public func reacquireFailed() async -> [PartitionID] {
        var recovered: [PartitionID] = []
        for (partition, ownership) in partitions.sorted(by: { $0.key < $1.key }) {
            switch ownership.state {
            case .serving(let owner) where owner.hasFailed:
                _ = await recover(partition, from: owner, cause: ShardError(.unavailable, "an append failed"))
            case .failed(_, let retryAt, _) where retryAt <= .now:
                if (try? await owner(of: partition)) != nil { recovered.append(partition) }
            default:
                continue
            }
        }
        return recovered
    }

    /// Decides a command for `guild` and returns once its events are durable.
    ///
    /// - Throws: ``Domain/Rejection``, or ``ShardError`` (see ``owner(of:)``); after a failed
    ///   append, `unavailable` with the time to retry after while the partition recovers.
    public nonisolated func handle(_ command: Command, guild: GuildID, context: CommandContext) async throws
        -> PartitionOwner.Outcome
    {
        let owner = try await servingOwner(for: guild)
        do {
            return try await owner.handle(command, guild: guild, context: context)
        } catch {
            guard owner.hasFailed else { throw error }
            throw await recover(owner.partition, from: owner, cause: error)
        }
    }

    /// Decides several commands for `guild` with one append (see ``PartitionOwner/handleBatch(_:guild:)``);
    /// a failed append is handled as for ``handle(_:guild:context:)``.
    public nonisolated func handleBatch(_ commands: [(Command, CommandContext)], guild: GuildID) async throws
        -> [Result<PartitionOwner.Outcome, Rejection>]
    {
        let owner = try await servingOwner(for: guild)
        do {
            return try await owner.handleBatch(commands, guild: guild)
        } catch {
            guard owner.hasFailed else { throw error }
            throw await recover(owner.partition, from: owner, cause: error)
        }
    }

    /// The owner of `guild`'s partition: without a hop onto this actor when it is being served and
    /// has not failed, through ``owner(of:)`` (acquiring, waiting, recovering or refusing) otherwise.
    private nonisolated func servingOwner(for guild: GuildID) async throws -> PartitionOwner {
        let partition = configuration.data.partition(for: guild)
        if let owner = serving.withLock({ $0[partition] }), !owner.hasFailed { return owner }
        return try await owner(of: partition)
    }

    /// The partitions this node has quarantined, with their damage.
    public func quarantined() -> [PartitionDamage] {
        partitions.sorted(by: { $0.key < $1.key }).compactMap { partition, ownership in
            ownership.damage.map {
                PartitionDamage(partition: partition, error: $0)
                    ?? PartitionDamage(partition: partition.rawValue, file: "", position: 0, reason: "\($0)")
            }
        }
    }

    /// The read models of the partition holding `guild`, up to date with everything acknowledged.
    public func readModels(for guild: GuildID) async throws -> ReadModelStore {
        try await readSide(of: configuration.data.partition(for: guild)).refreshed()
    }

    /// A page of the guild's audit trail, newest first before `before` (the log's end when nil),
    /// folded on the I/O pool from the partition's audit checkpoints (see ``Projections/AuditIndex``)
    /// rather than from the guild's first event.
    public func auditPage(guild: GuildID, person: PersonID?, before: Offset?, limit: Int) async throws
        -> AuditIndex.Page
    {
        _ = try await readModels(for: guild)
        guard let side = readSides[configuration.data.partition(for: guild)] else {
            throw ShardError(.unavailable, "the partition of guild \(guild) is being released")
        }
        return try await BlockingIOPool.shared.run {
            try side.audit.page(log: side.log, guild: guild, person: person, before: before, limit: limit)
        }
    }

    /// The read side of `partition`, opened on first use (acquiring the partition).
    func readSide(of partition: PartitionID) async throws -> ReadSide {
        if let existing = readSides[partition] { return existing }
        return try await readSide(of: partition, owner: try await owner(of: partition))
    }

    /// Opens and catches up the read side of a partition just acquired, before any query asks (with a
    /// shared store the partition may be new to this process, and its read models are then built
    /// from the snapshot: a query should not wait for that). Does nothing once `owner` no longer serves.
    private func prepareReadSide(_ partition: PartitionID, owner: PartitionOwner) async {
        guard partitions[partition]?.servingOwner === owner, readSides[partition] == nil else { return }
        do { _ = try await readSide(of: partition, owner: owner) } catch {
            logger.warning(
                "read models could not be caught up after acquiring; the next query tries again",
                metadata: ["partition": "\(partition)", "error": "\(error)"])
        }
    }

    /// The read side of `partition` served by `owner`, opened and caught up if there is none yet.
    ///
    /// - Throws: ``ShardError`` `unavailable` when `owner` stopped serving meanwhile; the read
    ///   models' and the log's errors.
    private func readSide(of partition: PartitionID, owner: PartitionOwner) async throws -> ReadSide {
        // Re-checked after the await: a concurrent request may have opened it meanwhile.
        if let existing = readSides[partition] { return existing }
        // Read models that have never followed this partition start from its newest snapshot, not
        // from its first event (on a new machine, or after the read models were lost).
        // Decoded only if the projector needs them, on the I/O pool where it catches up.
        let (stored, end, defaults) = (
            try await owner.store.snapshots(of: partition), owner.log.endOffset, configuration.globalDefaults
        )
        let seeds: @Sendable () -> [PartitionModel] = {
            PartitionModel.decodeSnapshots(
                stored, partition: partition, end: end, globalDefaults: defaults, remembersKeys: false, limit: 2)
        }
        if let existing = readSides[partition] { return existing }
        guard partitions[partition]?.servingOwner === owner else {
            throw ShardError(.unavailable, "partition \(partition) was released while its read models were opened")
        }
        let side = try ReadSide(
            data: configuration.data, partition: partition, log: owner.reader, seeds: seeds,
            catalog: configuration.catalog, globalDefaults: configuration.globalDefaults)
        readSides[partition] = side
        // The first catch-up (from the snapshot into empty read models, or from their checkpoint),
        // timed: what a partition costs a process that has not served it before.
        let started = ContinuousClock.now
        _ = try await side.refreshed()
        let elapsed = (ContinuousClock.now - started).components
        logger.info(
            "read models caught up",
            metadata: [
                "partition": "\(partition)",
                "seconds": "\(Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18)",
                "seeded.at": "\(side.seededAt.map { "\($0)" } ?? "-")", "checkpoint": "\(side.checkpoint)",
            ])
        return side
    }

    /// Whether `side` is still the read side this node serves `partition` with (false once the
    /// partition was released, or its read side replaced).
    func isCurrent(_ side: ReadSide) -> Bool { readSides[side.partition] === side }

    /// The guild's history, read from its partition's log (audit, time travel, draw verification).
    ///
    /// Its reads block: run them on the I/O pool (``EventLog/BlockingIOPool``), never on a cooperative thread.
    public func history(for guild: GuildID) async throws -> GuildHistory {
        GuildHistory(log: try await owner(for: guild).reader)
    }

    /// The owners acquired so far.
    public func acquiredOwners() -> [PartitionOwner] {
        partitions.sorted(by: { $0.key < $1.key }).compactMap { $0.value.owner }
    }

    /// Acquires every partition of the data directory that already has a log (so timers run for
    /// every guild with history, not only those a request has touched). A damaged partition is
    /// quarantined and the others are still acquired.
    public func acquireExisting() async throws {
        for partition in try await configuration.logStore.existingPartitions() {
            try await acquireAtStart(partition)
        }
    }

    /// Acquires `partition` at start: a quarantined one is left out (and reported by
    /// ``quarantined()``), any other failure is thrown.
    public func acquireAtStart(_ partition: PartitionID) async throws {
        do { _ = try await owner(of: partition) } catch let error as ShardError where error.code == .partitionDamaged {
            return
        }
    }

    /// Applies the coordinator's orders: from now on only `hold` is served; partitions no longer held
    /// are released (in-flight appends finish, a snapshot is written, the lock is dropped) and
    /// returned, so the caller can report them released. Held partitions are acquired on first use.
    @discardableResult
    public func apply(hold: [PartitionID: Epoch]) async -> [PartitionID] {
        granted = hold
        var dropped: [PartitionID] = []
        for partition in partitions.keys.sorted() where hold[partition] == nil {
            if await release(partition) { dropped.append(partition) }
        }
        return dropped
    }

    /// Releases `partition` if it is held; returns whether it was.
    private func release(_ partition: PartitionID) async -> Bool {
        guard case .release(let owner) = partitions[partition, default: Ownership()].release() else { return false }
        readSides[partition] = nil
        await owner.release()
        partitions[partition]?.released()
        return true
    }

    /// Adds this node's change in partitions per state to `tally_partitions{state}` (acquiring,
    /// serving, releasing, failed, quarantined), which sums every node of the process, and sets
    /// `tally_partition_quarantined{partition}` to 1 for each partition it quarantined (0 once it
    /// no longer holds it).
    private func publishStates() {
        var counts: [String: Int] = [:]
        for ownership in partitions.values {
            guard let name = ownership.metricState else { continue }
            counts[name, default: 0] += 1
        }
        // Most mutations (a request served by its owner) change no count: no meter is looked up.
        let quarantined = Set(partitions.filter { $0.value.damage != nil }.map(\.key))
        if quarantined != publishedQuarantine {
            for partition in quarantined.symmetricDifference(publishedQuarantine) {
                Gauge(label: "tally_partition_quarantined", dimensions: [("partition", "\(partition.rawValue)")])
                    .record(quarantined.contains(partition) ? 1 : 0)
            }
            publishedQuarantine = quarantined
        }
        for name in Set(counts.keys).union(publishedStates.keys) {
            let change = counts[name, default: 0] - publishedStates[name, default: 0]
            guard change != 0 else { continue }
            let meter = Meter(label: "tally_partitions", dimensions: [("state", name)])
            if change > 0 { meter.increment(by: Double(change)) } else { meter.decrement(by: Double(-change)) }
        }
        publishedStates = counts
    }

    /// Every partition this node knows of that is not idle, with its state's name as
    /// `tally_partitions{state}` counts it, and its owner while serving.
    func partitionStates() -> [(partition: PartitionID, state: String, owner: PartitionOwner?)] {
        partitions.sorted { $0.key < $1.key }.compactMap { partition, ownership in
            ownership.metricState.map { (partition, $0, ownership.owner) }
        }
    }

    /// The read side of `partition` if it was opened.
    func openedReadSide(of partition: PartitionID) -> ReadSide? { readSides[partition] }

    /// Whether this node serves `partition` now.
    public func serves(_ partition: PartitionID) -> Bool { granted.map { $0[partition] != nil } ?? true }

    /// Releases every partition (finishing in-flight appends and snapshotting each).
    public func shutdown() async {
        granted = [:]
        for partition in partitions.keys.sorted() { _ = await release(partition) }
    }
}

extension PartitionOwnership {
    /// The owner while serving; nil in every other state.
    fileprivate var servingOwner: Owner? {
        if case .serving(let owner) = state { owner } else { nil }
    }

    /// The state's name in `tally_partitions{state}`; nil when idle (not counted).
    fileprivate var metricState: String? {
        switch state {
        case .idle: nil
        case .acquiring: "acquiring"
        case .serving: "serving"
        case .releasing: "releasing"
        case .failed, .recovering: "failed"
        case .quarantined: "quarantined"
        }
    }
}
