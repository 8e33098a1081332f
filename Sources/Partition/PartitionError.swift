/// An error from the write side of a partition: reading its events back or its snapshots.
public struct PartitionError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// A log record could not be decoded as a domain event by this build.
        public static let undecodable = Code("undecodable")
    }

    public var code: Code
    public var message: String
    /// The partition directory the error came from.
    public var path: String?
    public var underlying: (any Error)?

    public init(_ code: Code, _ message: String, path: String? = nil, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.path = path
        self.underlying = underlying
    }

    public var description: String {
        var text = "\(code): \(message)"
        if let path { text += " (\(path))" }
        if let underlying { text += ": \(underlying)" }
        return text
    }
}
