/// An error from the Kick edge: a webhook that does not verify, a payload that does not parse, an
/// OAuth step or API call that failed.
public struct KickError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// A signed header is missing.
        public static let missingHeader = Code("missing_header")
        /// The signature is not Base64, or does not verify with Kick's public key.
        public static let badSignature = Code("bad_signature")
        /// The message timestamp is unreadable, too old, or too far in the future.
        public static let stale = Code("stale")
        /// The body is not the JSON its event type promises.
        public static let malformedPayload = Code("malformed_payload")
        /// The configuration is incomplete or unreadable (a key that is not PEM, say).
        public static let configuration = Code("configuration")
        /// Kick's API answered with an error or could not be reached.
        public static let api = Code("api")
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
