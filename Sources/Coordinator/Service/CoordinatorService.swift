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
    public private(set) var table: AssignmentTable
    private let store: AssignmentStore?
    private let logger: Logger
    /// Where each shard serves requests, as it registered.
    public private(set) var urls: [ShardID: String] = [:]
    private let grants = Counter(label: "tally_partition_grants_total")
    private let releases = Counter(label: "tally_partition_release_requests_total")

    public init(
        partitionCount: Int, store: AssignmentStore?, leaseMilliseconds: Int64 = 5_000,
        logger: Logger
    ) throws {
        var configuration = AssignmentTable.Configuration(partitionCount: partitionCount)
        configuration.leaseMilliseconds = leaseMilliseconds
        table = try store?.load(partitionCount: partitionCount) ?? AssignmentTable(configuration: configuration)
        self.store = store
        self.logger = logger
        Self.publishPartitionStates(table)
    }

    /// The damage each shard last reported for the partitions it quarantined.
    public private(set) var quarantines: [ShardID: [PartitionDamage]] = [:]

    /// A shard registers or heartbeats, naming the partitions it quarantined; returns its orders.
    ///
    /// - Throws: ``CoordinatorError`` `storage` when the table cannot be saved.
    public func heartbeat(
        _ shard: ShardID, url: String, quarantined: [PartitionDamage] = [], now: Int64
    ) throws -> Orders {
        if urls[shard] == nil {
            logger.info("shard registered", metadata: ["shard": "\(shard)", "url": "\(url)"])
            // The shard's expiry series exists from its first heartbeat, at zero, so the alert's
            // increase() sees its first expiry (a series born at 1 shows no increase).
            _ = Counter(label: "tally_lease_expiries_total", dimensions: [("shard", shard.rawValue)])
        }
        urls[shard] = url
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
        try carryOut(expiring { $0.heartbeat(shard, now: now) })
        return orders(for: shard)
    }

    /// `shard` finished releasing `partition` (in-flight appends done, snapshot written, lock dropped).
    public func released(_ partition: PartitionID, by shard: ShardID, now: Int64) throws -> Orders {
        try carryOut(table.released(partition, by: shard, now: now))
        return orders(for: shard)
    }

    /// Expires lost shards; their partitions go to the survivors with new epochs.
    public func expireLeases(now: Int64) throws {
        try carryOut(expiring { $0.expireLeases(now: now) })
    }

    /// Changes the table, and logs and counts (`tally_lease_expiries_total{shard}`) every lease the
    /// change expired: another shard's heartbeat expires lost leases as well as the expiry timer.
    private func expiring(_ change: (inout AssignmentTable) -> [AssignmentTable.Action]) -> [AssignmentTable.Action] {
        let before = table.leases.keys
        let actions = change(&table)
        for lost in before where table.leases[lost] == nil {
            logger.warning("shard lease expired", metadata: ["shard": "\(lost)"])
            Counter(label: "tally_lease_expiries_total", dimensions: [("shard", lost.rawValue)]).increment()
        }
        return actions
    }

    /// Records the table's actions (shards learn them from their next answer) and saves the table.
    private func carryOut(_ actions: [AssignmentTable.Action]) throws {
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
        Self.publishPartitionStates(table)
        do { try store?.save(table) } catch {
            throw CoordinatorError(.storage, "cannot save the assignment table", underlying: error)
        }
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
    public func ownerURL(of partition: PartitionID) -> String? {
        table.owner(of: partition).flatMap { urls[$0] }
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
