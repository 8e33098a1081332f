public import Hummingbird

/// What a shard must hold and release, the answer to each ``Heartbeat`` and ``Released``, signed
/// for the call that asked (see ``ClusterAuthenticator/signAnswer(to:status:body:)``).
public struct Orders: ResponseCodable, Sendable, Equatable {
    public struct Hold: Codable, Sendable, Equatable {
        public var partition: UInt32
        public var epoch: UInt64

        public init(partition: UInt32, epoch: UInt64) {
            self.partition = partition
            self.epoch = epoch
        }
    }

    public struct Route: Codable, Sendable, Equatable {
        public var partition: UInt32
        public var owner: String
        public var url: String
        public var epoch: UInt64

        public init(partition: UInt32, owner: String, url: String, epoch: UInt64) {
            self.partition = partition
            self.owner = owner
            self.url = url
            self.epoch = epoch
        }
    }

    /// Partitions this shard owns, with the epoch to hold them at.
    public var hold: [Hold]
    /// Partitions this shard must release (and then report released).
    public var release: [UInt32]
    /// Every owned partition's shard and URL, for forwarding requests.
    public var routes: [Route]

    public init(hold: [Hold], release: [UInt32], routes: [Route]) {
        self.hold = hold
        self.release = release
        self.routes = routes
    }
}
