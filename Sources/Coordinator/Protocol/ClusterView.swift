import EventLog
public import Hummingbird

/// `GET /v1/cluster`: the shards with their leases, and every partition's owner and epoch — the
/// same view from the coordinator process and from `tally serve`'s local cluster.
public struct ClusterView: ResponseCodable, Sendable, Equatable {
    public struct Shard: Codable, Sendable, Equatable {
        public var id: String
        /// Where the shard serves requests (empty for an in-process node).
        public var url: String
        /// When its lease ends unless it heartbeats (milliseconds since the epoch).
        public var leaseExpiresMs: Int64

        enum CodingKeys: String, CodingKey {
            case id, url
            case leaseExpiresMs = "lease_expires_ms"
        }
    }

    public struct Partition: Codable, Sendable, Equatable {
        public var partition: Int
        public var epoch: UInt64
        /// The shard that owns it (or is releasing it); absent when unassigned.
        public var owner: String?
        /// The shard that acquires it once the owner has released it.
        public var movingTo: String?
        /// Where its log is damaged, when its owner quarantined it (absent otherwise).
        public var damage: PartitionDamage?

        enum CodingKeys: String, CodingKey {
            case partition, epoch, owner, damage
            case movingTo = "moving_to"
        }
    }

    public var shards: [Shard]
    public var partitions: [Partition]

    /// The partitions quarantined somewhere in the cluster.
    public var quarantined: [PartitionDamage] { partitions.compactMap(\.damage) }

    /// The view of `table`, with each shard's URL from `urls` and the damage its owner reported
    /// for each quarantined partition.
    public init(table: AssignmentTable, urls: [ShardID: String] = [:], damage: [PartitionDamage] = []) {
        let damaged = Dictionary(damage.map { (Int($0.partition), $0) }, uniquingKeysWith: { a, _ in a })
        shards = table.leases.keys.sorted().map {
            Shard(id: $0.rawValue, url: urls[$0] ?? "", leaseExpiresMs: table.leases[$0] ?? 0)
        }
        partitions = table.entries.enumerated().map { i, entry in
            var row = Partition(partition: i, epoch: entry.epoch.rawValue)
            row.damage = damaged[i]
            switch entry.ownership {
            case .owned(let shard): row.owner = shard.rawValue
            case .releasing(let from, let to):
                row.owner = from.rawValue
                row.movingTo = to.rawValue
            case .unassigned: break
            }
            return row
        }
    }
}
