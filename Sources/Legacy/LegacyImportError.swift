/// Why an import could not run or a guild could not be imported. Nothing of that guild was written.
public struct LegacyImportError: Error, Sendable, CustomStringConvertible {
    /// What went wrong: static members, so adding one breaks no caller.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The connection string cannot be parsed.
        public static let invalidDSN = Code("invalid_dsn")
        /// The database cannot be reached (or refused the login).
        public static let unreachable = Code("unreachable")
        /// A table or column the importer reads is missing.
        public static let missingSchema = Code("missing_schema")
        /// A query failed.
        public static let query = Code("query")
        /// A row breaks a rule (a negative balance, a Kick name linked to two Discord users …).
        public static let invalidRow = Code("invalid_row")
        /// The guild already holds Tally history and `--merge` was not given.
        public static let historyExists = Code("history_exists")
        /// Writing the guild's events failed.
        public static let write = Code("write")
    }

    public var code: Code
    /// A message safe to show an operator: names the table and row where one is at fault.
    public var message: String
    /// The guild concerned, if one.
    public var guild: UInt64?
    public var underlying: (any Error)?

    public init(_ code: Code, _ message: String, guild: UInt64? = nil, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.guild = guild
        self.underlying = underlying
    }

    public var description: String {
        var text = "\(code): "
        if let guild { text += "guild \(guild): " }
        text += message
        if let underlying { text += " (\(String(reflecting: underlying)))" }
        return text
    }
}
