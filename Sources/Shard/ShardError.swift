public import Coordinator

/// An error from a shard: its code says what a client can do about it.
public struct ShardError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The partition cannot take commands now (released, moving, or failed): retry elsewhere or later.
        public static let unavailable = Code("unavailable")
        /// Another shard owns the partition: forward the request there.
        public static let notOwner = Code("not_owner")
        /// The partition's log is damaged inside acknowledged data: it is quarantined until an
        /// operator repairs it (`tally log repair`) and the node starts again. Retrying does not help.
        public static let partitionDamaged = Code("partition_damaged")
    }

    public var code: Code
    public var message: String
    public var underlying: (any Error)?
    /// When a retry may succeed, if the shard knows (a partition backing off after a failed append).
    public var retryAfter: Duration?
    /// Where the damage is, for `partitionDamaged`.
    public var damage: PartitionDamage?

    public init(
        _ code: Code, _ message: String, underlying: (any Error)? = nil, retryAfter: Duration? = nil,
        damage: PartitionDamage? = nil
    ) {
        self.code = code
        self.message = message
        self.underlying = underlying
        self.retryAfter = retryAfter
        self.damage = damage
    }

    public var description: String { "\(code): \(message)" + (underlying.map { ": \($0)" } ?? "") }
}
