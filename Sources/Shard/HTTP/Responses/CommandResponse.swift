public import Hummingbird

/// The answer to `POST /v1/guilds/{guild}/commands`: the events the command produced (for a
/// duplicate, the ones its first delivery produced), each with its offset and per-guild sequence.
public struct CommandResponse: ResponseCodable, Sendable, Equatable {
    public struct Event: Codable, Sendable, Equatable {
        public var offset: UInt64
        public var sequence: UInt64
        public var type: String
        public var timestamp: Int64
    }

    /// Whether the key had been seen: nothing was appended this time.
    public var duplicate: Bool
    public var events: [Event]
}
