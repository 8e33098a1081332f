public import Domain
public import EventLog
public import Logging
public import Projections
import Synchronization

/// The partitions a shard process serves, with their owners (the write side) and read models.
///
/// Partitions are acquired on first use: the owner takes the next epoch after the partition's
/// fence, so every start of a node fences out any earlier writer. Read models are brought up to
/// date with the log before each query, so a client reads its own acknowledged writes.
public actor ShardNode {
    public struct Configuration: Sendable {
        public var data: DataDirectory
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

        public init(data: DataDirectory) { self.data = data }
    }

    public let configuration: Configuration
    private let logger: Logger
    /// A partition being acquired (with whoever waits for it) or owned.
    private enum Slot {
        case acquiring([CheckedContinuation<PartitionOwner, any Error>])
        case owned(PartitionOwner)
    }

    private var owners: [PartitionID: Slot] = [:]
    /// In a multi-process cluster, the partitions the coordinator granted this node, with their
    /// epochs; nil when the node serves every partition (one process, or a local cluster).
    private var granted: [PartitionID: Epoch]?
    private var readSides: [PartitionID: ReadSide] = [:]

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// The owner of the partition holding `guild`, acquiring it on first use.
    public func owner(for guild: GuildID) async throws -> PartitionOwner {
        try await owner(of: configuration.data.partition(for: guild))
    }

    /// The owner of `partition`, acquiring it on first use (concurrent callers share one acquisition).
    public func owner(of partition: PartitionID) async throws -> PartitionOwner {
        switch owners[partition] {
        case .owned(let owner):
            return owner
        case .acquiring:
            return try await withCheckedThrowingContinuation { continuation in
                if case .acquiring(var waiters) = owners[partition] {
                    waiters.append(continuation)
                    owners[partition] = .acquiring(waiters)
                } else if case .owned(let owner) = owners[partition] {
                    continuation.resume(returning: owner)
                } else {
                    continuation.resume(
                        throwing: ShardError(.unavailable, "partition \(partition) could not be acquired"))
                }
            }
        case nil:
            if let granted, granted[partition] == nil {
                throw ShardError(.notOwner, "partition \(partition) is not held by this shard")
            }
            owners[partition] = .acquiring([])
            let (data, defaults, every, logger) = (
                configuration.data, configuration.globalDefaults, configuration.snapshotEvery, self.logger
            )
            do {
                let fence = try PartitionManifest.load(directory: data.directory(of: partition))?.fencedEpoch ?? 0
                // The coordinator's epoch, raised past the partition's fence if the data directory
                // saw later owners (epochs only ever rise).
                let epoch = max(granted?[partition]?.rawValue ?? 0, fence + 1)
                let owner = try await PartitionOwner.acquire(
                    data: data, partition: partition, epoch: Epoch(epoch), globalDefaults: defaults,
                    snapshotEvery: every, logger: logger)
                let waiters = waiting(for: partition)
                owners[partition] = .owned(owner)
                for waiter in waiters { waiter.resume(returning: owner) }
                return owner
            } catch {
                let waiters = waiting(for: partition)
                owners[partition] = nil
                for waiter in waiters { waiter.resume(throwing: error) }
                throw error
            }
        }
    }

    private func waiting(for partition: PartitionID) -> [CheckedContinuation<PartitionOwner, any Error>] {
        if case .acquiring(let waiters) = owners[partition] { return waiters }
        return []
    }

    /// Decides a command for `guild` and returns once its events are durable.
    public func handle(_ command: Command, guild: GuildID, context: CommandContext) async throws
        -> PartitionOwner.Outcome
    {
        try await owner(for: guild).handle(command, guild: guild, context: context)
    }

    /// The read models of the partition holding `guild`, up to date with everything acknowledged.
    public func readModels(for guild: GuildID) async throws -> ReadModelStore {
        let partition = configuration.data.partition(for: guild)
        let side: ReadSide
        if let existing = readSides[partition] {
            side = existing
        } else {
            let log = try await owner(for: guild).log
            side =
                try readSides[partition]
                ?? ReadSide(
                    data: configuration.data, partition: partition, log: log,
                    globalDefaults: configuration.globalDefaults)
            readSides[partition] = side
        }
        return try await side.refreshed()
    }

    /// The guild's history, read from its partition's log (audit, time travel, draw verification).
    public func history(for guild: GuildID) async throws -> GuildHistory {
        GuildHistory(log: try await owner(for: guild).log)
    }

    /// The owners acquired so far.
    func acquiredOwners() -> [PartitionOwner] {
        owners.sorted(by: { $0.key < $1.key }).compactMap { _, slot in
            if case .owned(let owner) = slot { return owner }
            return nil
        }
    }

    /// Acquires every partition of the data directory that already has a log (so timers run for
    /// every guild with history, not only those a request has touched).
    public func acquireExisting() async throws {
        for partition in configuration.data.existingPartitions {
            _ = try await owner(of: partition)
        }
    }

    /// Applies the coordinator's orders: from now on only `hold` is served; partitions no longer held
    /// are released (in-flight appends finish, a snapshot is written, the lock is dropped) and
    /// returned, so the caller can report them released. Held partitions are acquired on first use.
    @discardableResult
    public func apply(hold: [PartitionID: Epoch]) async -> [PartitionID] {
        granted = hold
        var dropped: [PartitionID] = []
        for (partition, slot) in owners where hold[partition] == nil {
            if case .owned(let owner) = slot {
                owners[partition] = nil
                readSides[partition] = nil
                await owner.release()
                dropped.append(partition)
            }
        }
        return dropped.sorted()
    }

    /// Whether this node serves `partition` now.
    public func serves(_ partition: PartitionID) -> Bool { granted.map { $0[partition] != nil } ?? true }

    /// Releases every partition (finishing in-flight appends and snapshotting each).
    public func shutdown() async {
        for owner in acquiredOwners() { await owner.release() }
        owners.removeAll()
    }
}

/// One partition's read models and the projector keeping them current.
final class ReadSide: Sendable {
    /// Held while catching up: one refresh at a time, mutating the projector in place.
    private let projector: Mutex<Projector>
    let store: ReadModelStore

    /// - Parameter log: the owner's log, whose end moves as appends become durable.
    init(data: DataDirectory, partition: PartitionID, log: PartitionLog, globalDefaults: [SettingKey: Int64]) throws {
        try FileSystem.createDirectory(data.path + "/readmodels")
        store = try ReadModelStore(path: ReadModelStore.path(dataDirectory: data, partition: partition))
        projector = Mutex(Projector(log: log, store: store, globalDefaults: globalDefaults))
    }

    /// Applies what the log has gained since the last call (on the I/O pool) and returns the store.
    func refreshed() async throws -> ReadModelStore {
        try await BlockingIOPool.shared.run { [self] in
            _ = try projector.withLock { try $0.catchUp() }
        }
        return store
    }
}
