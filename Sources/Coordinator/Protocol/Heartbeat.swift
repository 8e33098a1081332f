import Hummingbird

/// `POST /v1/cluster/heartbeat`: a shard registers or renews its lease, naming where it serves.
/// Answered with its ``Orders``.
public struct Heartbeat: Codable, Sendable, Equatable {
    public var shard: String
    /// The shard's base URL (what other nodes forward requests to).
    public var url: String
    /// The partitions the shard quarantined because their logs are damaged (absent: none, or a
    /// shard of an earlier release).
    public var quarantined: [PartitionDamage]?

    public init(shard: String, url: String, quarantined: [PartitionDamage]? = nil) {
        self.shard = shard
        self.url = url
        self.quarantined = quarantined
    }
}

/// `POST /v1/cluster/released`: a shard finished releasing a partition (in-flight appends done,
/// snapshot written, lock dropped). Answered with its ``Orders``.
public struct Released: Codable, Sendable, Equatable {
    public var shard: String
    public var partition: UInt32

    public init(shard: String, partition: UInt32) {
        self.shard = shard
        self.partition = partition
    }
}
