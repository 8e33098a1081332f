public import EventLog
public import Logging
import Metrics

/// The coordinator: shards register and heartbeat, leases expire, and the assignment table (persisted
/// after every change) says which shard should hold which partition at which epoch.
///
/// Shards learn their orders from the answer to each heartbeat (``Orders``): the partitions to hold
/// with their epochs, and the ones to release (then report with ``released(_:by:now:)``). The
/// coordinator never calls a shard, so a shard behind a partition is simply a shard whose lease
/// expires. The table's ``AssignmentTable/Action``s are carried out by recording them: the next
/// answer to the shard concerned carries the grant or the request to release, and each is logged
/// and counted.
public actor CoordinatorService {
    /// The assignment, leases and shard registry (as last saved, while active).
    public private(set) var state: CoordinatorState
    /// The term this coordinator is active in; nil while it stands by (see ``activate(term:now:)``).
    public private(set) var term: CoordinatorTerm?
    private let store: (any CoordinatorStateStore)?
    let logger: Logger
    private let grants = Counter(label: "tally_partition_grants_total")
    private let releases = Counter(label: "tally_partition_release_requests_total")
    /// Whether a change is being saved, and the changes waiting for it: one change at a time, so
    /// the store sees them in order and a failed save leaves memory as the store has it.
    private var changing = false
    private var waiting: [CheckedContinuation<Void, Never>] = []
    /// Each shard's open presence connection (see ``openPresence(of:)``): its number and the
    /// stream that tells it to heartbeat.
    var presences: [ShardID: (number: UInt64, signals: AsyncStream<PresenceSignal>.Continuation)] = [:]
    /// The number of the latest presence connection opened.
    var presenceCount: UInt64 = 0

    /// A coordinator with its store to itself, active at once (term ``CoordinatorTerm/sole``), with
    /// the table `store` saved (nil: a new one).
    public init(
        partitionCount: Int, store: AssignmentStore?, leaseMilliseconds: Int64 = 5_000,
        logger: Logger
    ) throws {
        let configuration = Self.configuration(partitionCount: partitionCount, leaseMilliseconds: leaseMilliseconds)
        var table = AssignmentTable(configuration: configuration)
        if let saved = try store?.load(partitionCount: partitionCount) {
            table = AssignmentTable(configuration: configuration, entries: saved.entries, leases: saved.leases)
        }
        state = CoordinatorState(table: table)
        term = .sole
        self.store = store
        self.logger = logger
        Self.publishPartitionStates(table)
    }

    /// A coordinator sharing `store` with others: it stands by (every call is refused with
    /// ``CoordinatorError`` `standby`) until ``activate(term:now:)``.
    public init(
        partitionCount: Int, sharing store: any CoordinatorStateStore, leaseMilliseconds: Int64 = 5_000, logger: Logger
    ) {
        let configuration = Self.configuration(partitionCount: partitionCount, leaseMilliseconds: leaseMilliseconds)
        state = CoordinatorState(table: AssignmentTable(configuration: configuration))
        term = nil
        self.store = store
        self.logger = logger
    }

    private static func configuration(partitionCount: Int, leaseMilliseconds: Int64) -> AssignmentTable.Configuration {
        var configuration = AssignmentTable.Configuration(partitionCount: partitionCount)
        configuration.leaseMilliseconds = leaseMilliseconds
        return configuration
    }

    public var table: AssignmentTable { state.table }
    /// Where each shard serves requests, as it registered.
    public var urls: [ShardID: String] { state.urls }
    /// Whether this coordinator is the active one (it answers shards and routes requests).
    public var isActive: Bool { term != nil }

    /// The damage each shard last reported for the partitions it quarantined.
    public private(set) var quarantines: [ShardID: [PartitionDamage]] = [:]

    // MARK: Taking over and standing by

    /// Becomes the active coordinator of `term`, which the store has just raised past every earlier
    /// term (so no earlier coordinator can write any more): loads the saved state and gives every
    /// shard it holds as live a full lease from `now` (``AssignmentTable/renewAllLeases(now:)``), so
    /// the takeover itself moves no partition.
    ///
    /// - Throws: ``CoordinatorError`` `storage` when the state cannot be loaded or saved (it stays on
    ///   standby), `deposed` when an even newer term took over meanwhile.
    public func activate(term: CoordinatorTerm, now: Int64) async throws {
        await enter()
        defer { leave() }
        guard let store else { preconditionFailure("a coordinator without a store is always active") }
        let empty = CoordinatorState(table: AssignmentTable(configuration: state.table.configuration))
        let loaded: CoordinatorState?
        do { loaded = try await store.load(configuration: state.table.configuration) } catch {
            throw CoordinatorError(.storage, "cannot load the coordinator state", underlying: error)
        }
        var next = loaded ?? empty
        next.table.renewAllLeases(now: now)
        try await save(next, replacing: loaded ?? empty, term: term, in: store)
        state = next
        quarantines = [:]
        self.term = term
        logger.notice(
            "took over as the active coordinator",
            metadata: [
                "coordinator.term": "\(term)", "shards": "\(next.table.leases.count)",
                "partitions.owned": "\(next.table.entries.filter { $0.ownership != .unassigned }.count)",
            ])
        Self.publishPartitionStates(next.table)
    }

    /// Stops acting as the active coordinator (it lost its lock, or a newer term took over): every
    /// call is refused with ``CoordinatorError`` `standby` until ``activate(term:now:)``.
    public func stepDown(reason: String) {
        guard let term, store != nil, term != .sole else { return }
        self.term = nil
        endPresences()
        logger.warning("standing by", metadata: ["coordinator.term": "\(term)", "reason": "\(reason)"])
    }

    // MARK: Calls

    /// A shard registers or heartbeats, naming the partitions it quarantined; returns its orders.
    ///
    /// - Throws: ``CoordinatorError`` `standby` while standing by, `storage` when the change cannot
    ///   be saved (nothing changed).
    public func heartbeat(
        _ shard: ShardID, url: String, quarantined: [PartitionDamage] = [], now: Int64
    ) async throws -> Orders {
        let known = state.urls[shard] != nil
        try await change { state in
            state.urls[shard] = url
            return state.table.heartbeat(shard, now: now)
        }
        if !known {
            logger.info("shard registered", metadata: ["shard": "\(shard)", "url": "\(url)"])
            // The shard's expiry series exists from its first heartbeat, at zero, so the alert's
            // increase() sees its first expiry (a series born at 1 shows no increase).
            _ = Counter(label: "tally_lease_expiries_total", dimensions: [("shard", shard.rawValue)])
        }
        if quarantines[shard, default: []] != quarantined {
            for damage in quarantined where !(quarantines[shard] ?? []).contains(damage) {
                logger.error(
                    "shard quarantined a partition",
                    metadata: [
                        "shard": "\(shard)", "partition": "\(damage.partition)", "damage.file": "\(damage.file)",
                        "damage.position": "\(damage.position)",
                    ])
            }
            quarantines[shard] = quarantined.isEmpty ? nil : quarantined
        }
        return orders(for: shard)
    }

    /// `shard` finished releasing `partition` (in-flight appends done, snapshot written, lock dropped).
    ///
    /// - Throws: as ``heartbeat(_:url:quarantined:now:)``.
    public func released(_ partition: PartitionID, by shard: ShardID, now: Int64) async throws -> Orders {
        try await change { $0.table.released(partition, by: shard, now: now) }
        return orders(for: shard)
    }

    /// Expires lost shards; their partitions go to the survivors with new epochs. Standing by, it
    /// does nothing.
    ///
    /// - Throws: ``CoordinatorError`` `storage` when the change cannot be saved.
    public func expireLeases(now: Int64) async throws {
        guard term != nil else { return }
        try await change { $0.table.expireLeases(now: now) }
    }

    /// Applies `body` to a copy of the state, saves it as the active term, and only then makes it
    /// the state and carries out its actions: a change the store refused changed nothing. Logs and
    /// counts (`tally_lease_expiries_total{shard}`) every lease the change expired (another shard's
    /// heartbeat expires lost leases as well as the expiry timer).
    func change(_ body: (inout CoordinatorState) -> [AssignmentTable.Action]) async throws {
        await enter()
        defer { leave() }
        guard let term else {
            throw CoordinatorError(.standby, "this coordinator is standing by; another one is active or taking over")
        }
        var next = state
        let actions = body(&next)
        if let store { try await save(next, replacing: state, term: term, in: store) }
        guard self.term == term else {
            throw CoordinatorError(.standby, "this coordinator stepped down while saving")
        }
        let before = state.table.leases.keys
        state = next
        for lost in before where next.table.leases[lost] == nil {
            logger.warning("shard lease expired", metadata: ["shard": "\(lost)"])
            Counter(label: "tally_lease_expiries_total", dimensions: [("shard", lost.rawValue)]).increment()
        }
        carryOut(actions)
    }

    /// Saves through `store`, stepping down when a newer term took over.
    private func save(
        _ next: CoordinatorState, replacing previous: CoordinatorState, term: CoordinatorTerm,
        in store: any CoordinatorStateStore
    ) async throws {
        do { try await store.save(next, replacing: previous, term: term) } catch let error as CoordinatorError
            where error.code == .deposed
        {
            stepDown(reason: error.message)
            throw error
        } catch {
            throw CoordinatorError(.storage, "cannot save the coordinator state", underlying: error)
        }
    }

    private func enter() async {
        guard changing else {
            changing = true
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    /// Hands the turn to the next waiting change (it stays taken), or frees it.
    private func leave() {
        if waiting.isEmpty { changing = false } else { waiting.removeFirst().resume() }
    }

    /// Records the table's actions: shards learn them from their next answer.
    private func carryOut(_ actions: [AssignmentTable.Action]) {
        for action in actions {
            switch action {
            case .acquire(let partition, let shard, let epoch):
                grants.increment()
                logger.info(
                    "partition granted",
                    metadata: ["partition": "\(partition)", "shard": "\(shard)", "epoch": "\(epoch)"])
            case .release(let partition, let shard):
                releases.increment()
                logger.info(
                    "partition release requested", metadata: ["partition": "\(partition)", "shard": "\(shard)"])
            }
        }
        if !actions.isEmpty { signalPresences() }
        Self.publishPartitionStates(state.table)
    }

    /// `tally_coordinator_partitions{state}`: how many partitions are owned, being released, or
    /// have no owner (the alert on unowned partitions reads it).
    private static func publishPartitionStates(_ table: AssignmentTable) {
        var counts = ["owned": 0, "releasing": 0, "unassigned": 0]
        for entry in table.entries {
            switch entry.ownership {
            case .owned: counts["owned", default: 0] += 1
            case .releasing: counts["releasing", default: 0] += 1
            case .unassigned: counts["unassigned", default: 0] += 1
            }
        }
        for (state, count) in counts {
            Gauge(label: "tally_coordinator_partitions", dimensions: [("state", state)]).record(count)
        }
    }

    /// The cluster as `GET /v1/cluster` shows it: a partition's damage is shown as its current
    /// owner reported it.
    public var view: ClusterView {
        let damage = table.entries.indices.compactMap { i -> PartitionDamage? in
            guard let owner = table.owner(of: PartitionID(UInt32(i))) else { return nil }
            return quarantines[owner]?.first { $0.partition == UInt32(i) }
        }
        return ClusterView(table: table, urls: urls, damage: damage)
    }

    /// The base URL of the shard owning `partition`, if it has a live owner.
    ///
    /// - Throws: ``CoordinatorError`` `standby` while standing by (its table may be stale).
    public func ownerURL(of partition: PartitionID) throws -> String? {
        guard term != nil else {
            throw CoordinatorError(.standby, "this coordinator is standing by; another one is active or taking over")
        }
        return table.owner(of: partition).flatMap { urls[$0] }
    }

    func orders(for shard: ShardID) -> Orders {
        var hold: [Orders.Hold] = []
        var release: [UInt32] = []
        var routes: [Orders.Route] = []
        for (i, entry) in table.entries.enumerated() {
            switch entry.ownership {
            case .owned(let owner):
                if owner == shard { hold.append(.init(partition: UInt32(i), epoch: entry.epoch.rawValue)) }
                routes.append(
                    .init(
                        partition: UInt32(i), owner: owner.rawValue, url: urls[owner] ?? "", epoch: entry.epoch.rawValue
                    ))
            case .releasing(let from, _):
                if from == shard { release.append(UInt32(i)) }
                routes.append(
                    .init(
                        partition: UInt32(i), owner: from.rawValue, url: urls[from] ?? "", epoch: entry.epoch.rawValue))
            case .unassigned:
                break
            }
        }
        return Orders(hold: hold, release: release, routes: routes)
    }
}
