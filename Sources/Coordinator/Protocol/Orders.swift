public import Hummingbird

/// What a shard must hold and release, the answer to each ``Heartbeat`` and ``Released``.
public struct Orders: ResponseCodable, Sendable, Equatable {
    public struct Hold: Codable, Sendable, Equatable {
        public var partition: UInt32
        public var epoch: UInt64
    }

    public struct Route: Codable, Sendable, Equatable {
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
