public import EventLog

/// The Kick channel a guild is connected to: webhooks for its broadcaster are routed to the guild.
public struct KickChannel: Hashable, Sendable {
    /// The broadcaster's Kick user id.
    public var broadcaster: KickUserID
    /// The channel's slug (`kick.com/<slug>`).
    public var slug: String

    public init(broadcaster: KickUserID, slug: String) {
        self.broadcaster = broadcaster
        self.slug = slug
    }

    /// The event types Tally subscribes a connected channel to.
    public static let subscribedEvents = [
        "chat.message.sent", "livestream.status.updated", "channel.subscription.new",
        "channel.subscription.renewal", "channel.subscription.gifts",
    ]
}

/// A Kick authorization in progress: server-side state of the OAuth flow that links a Discord user
/// to a Kick account, kept in the log so a restart does not forget it.
public struct KickAuthorization: Hashable, Sendable {
    /// The OAuth `state`, random and single use.
    public var state: String
    public var user: UserID
    /// The PKCE code verifier (the challenge Kick saw is derived from it).
    public var verifier: String
    public var expiresAt: Timestamp

    public init(state: String, user: UserID, verifier: String, expiresAt: Timestamp) {
        self.state = state
        self.user = user
        self.verifier = verifier
        self.expiresAt = expiresAt
    }
}

/// A chat command viewers type in Kick chat (`!points` …), with its bit in the
/// `chat_commands_enabled` setting.
public struct ChatCommand: Hashable, Sendable, CaseIterable, CustomStringConvertible {
    public let name: String
    /// Its bit in `chat_commands_enabled`.
    public let bit: Int64

    public var description: String { "!" + name }

    public static let points = ChatCommand(name: "points", bit: 1)
    public static let watchtime = ChatCommand(name: "watchtime", bit: 2)
    public static let tickets = ChatCommand(name: "tickets", bit: 4)
    public static let raffle = ChatCommand(name: "raffle", bit: 8)
    public static let leaderboard = ChatCommand(name: "leaderboard", bit: 16)
    public static let link = ChatCommand(name: "link", bit: 32)

    public static let allCases: [ChatCommand] = [.points, .watchtime, .tickets, .raffle, .leaderboard, .link]

    /// The command a chat message starts with (`!points`, `!Points extra` …), if any.
    public init?(message: String) {
        guard message.hasPrefix("!") else { return nil }
        let word = message.dropFirst().prefix { !$0.isWhitespace }.lowercased()
        guard let found = ChatCommand.allCases.first(where: { $0.name == word }) else { return nil }
        self = found
    }

    private init(name: String, bit: Int64) {
        self.name = name
        self.bit = bit
    }
}
