public import EventLog

/// The coordinator: shards register and heartbeat, leases expire, and the assignment table (persisted
/// after every change) says which shard should hold which partition at which epoch.
///
/// Shards learn their orders from the answer to each heartbeat (``Orders``): the partitions to hold
/// with their epochs, and the ones to release (then report with ``released(_:by:now:)``). The
/// coordinator never calls a shard, so a shard behind a partition is simply a shard whose lease expires.
public actor CoordinatorService {
    public private(set) var table: AssignmentTable
    private let store: AssignmentStore?
    /// Where each shard serves requests, as it registered.
    public private(set) var urls: [ShardID: String] = [:]

    /// What a shard must hold and release, answered to its heartbeat.
    public struct Orders: Sendable, Codable, Equatable {
        public struct Hold: Sendable, Codable, Equatable {
            public var partition: UInt32
            public var epoch: UInt64
        }

        public struct Route: Sendable, Codable, Equatable {
            public var partition: UInt32
            public var owner: String
            public var url: String
            public var epoch: UInt64
        }

        /// Partitions this shard owns, with the epoch to hold them at.
        public var hold: [Hold]
        /// Partitions this shard must release (and then report released).
        public var release: [UInt32]
        /// Every owned partition's shard and URL, for forwarding requests.
        public var routes: [Route]
    }

    public init(partitionCount: Int, store: AssignmentStore?, leaseMilliseconds: Int64 = 5_000) throws {
        var configuration = AssignmentTable.Configuration(partitionCount: partitionCount)
        configuration.leaseMilliseconds = leaseMilliseconds
        table = try store?.load(partitionCount: partitionCount) ?? AssignmentTable(configuration: configuration)
        self.store = store
    }

    /// A shard registers or heartbeats; returns its orders.
    public func heartbeat(_ shard: ShardID, url: String, now: Int64) throws -> Orders {
        urls[shard] = url
        _ = table.heartbeat(shard, now: now)
        try store?.save(table)
        return orders(for: shard)
    }

    /// `shard` finished releasing `partition` (in-flight appends done, snapshot written, lock dropped).
    public func released(_ partition: PartitionID, by shard: ShardID, now: Int64) throws -> Orders {
        _ = table.released(partition, by: shard, now: now)
        try store?.save(table)
        return orders(for: shard)
    }

    /// Expires lost shards; their partitions go to the survivors with new epochs.
    public func expireLeases(now: Int64) throws {
        let before = table
        _ = table.expireLeases(now: now)
        if table != before { try store?.save(table) }
    }

    func orders(for shard: ShardID) -> Orders {
        var hold: [Orders.Hold] = []
        var release: [UInt32] = []
        var routes: [Orders.Route] = []
        for (i, entry) in table.entries.enumerated() {
            switch entry.ownership {
            case .owned(let owner):
                if owner == shard { hold.append(.init(partition: UInt32(i), epoch: entry.epoch.rawValue)) }
                routes.append(.init(partition: UInt32(i), owner: owner.rawValue, url: urls[owner] ?? "", epoch: entry.epoch.rawValue))
            case .releasing(let from, _):
                if from == shard { release.append(UInt32(i)) }
                routes.append(.init(partition: UInt32(i), owner: from.rawValue, url: urls[from] ?? "", epoch: entry.epoch.rawValue))
            case .unassigned:
                break
            }
        }
        return Orders(hold: hold, release: release, routes: routes)
    }
}
