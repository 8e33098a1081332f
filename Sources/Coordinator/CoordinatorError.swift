/// An error from the coordinator: its code says what a caller can do about it.
public struct CoordinatorError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// A heartbeat, release or guild request the coordinator cannot take as sent.
        public static let badRequest = Code("bad_request")
        /// The guild's partition has no owner yet (it is moving, or no shard is alive): retry.
        public static let noOwner = Code("no_owner")
        /// A cluster call without a valid signature (missing, wrong, stale or replayed): refused.
        public static let unauthenticated = Code("cluster_unauthenticated")
        /// The coordinator cannot take the call now (too many calls in the replay window): retry.
        public static let unavailable = Code("unavailable")
        /// The assignment could not be saved (or loaded); `underlying` says why: retry.
        public static let storage = Code("storage")
        /// This coordinator is standing by (another one is active, or it is taking over): ask
        /// another coordinator, or retry.
        public static let standby = Code("coordinator_standby")
        /// A newer coordinator has taken over the store; the write was refused and nothing changed.
        public static let deposed = Code("coordinator_deposed")
    }

    public var code: Code
    public var message: String
    public var underlying: (any Error)?

    public init(_ code: Code, _ message: String, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    public var description: String { "\(code): \(message)" + (underlying.map { ": \($0)" } ?? "") }
}
