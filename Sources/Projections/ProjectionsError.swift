/// An error from the read models, their rebuild or the history readers.
public struct ProjectionsError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// SQLite failed; `underlying` says how.
        public static let storage = Code("storage")
        /// The database was built by other projection versions: it needs a rebuild.
        public static let versionMismatch = Code("version_mismatch")
        /// No such guild, projection, draw or partition.
        public static let notFound = Code("not_found")
    }

    public var code: Code
    public var message: String
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
