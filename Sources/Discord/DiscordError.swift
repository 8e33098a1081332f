/// Why something Discord-related failed: a bad signature, a payload that is not an interaction,
/// incomplete configuration.
public struct DiscordError: Error, Sendable, CustomStringConvertible {
    /// What went wrong; static members, so adding one breaks no caller.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The signature, its timestamp or the key is missing, malformed or does not verify.
        public static let verification = Code("verification")
        /// The body is not an interaction of the expected shape.
        public static let malformed = Code("malformed")
        /// The app configuration is incomplete or unreadable.
        public static let configuration = Code("configuration")
    }

    public var code: Code
    /// A message safe to show (it never holds a secret).
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
