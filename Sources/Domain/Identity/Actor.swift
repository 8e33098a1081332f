/// Who issued a command: recorded with its first event, so the audit trail says who did each change.
public struct Actor: Hashable, Sendable, CustomStringConvertible {
    /// What kind of issuer (a byte in the event envelope).
    public struct Kind: Hashable, Sendable {
        public let rawValue: UInt8
        init(_ rawValue: UInt8) { self.rawValue = rawValue }

        /// Not recorded (events written before actors were).
        public static let unknown = Kind(0)
        /// The deployment's operator (the operator token).
        public static let `operator` = Kind(1)
        /// A guild's own API key (the id is the guild).
        public static let guildKey = Kind(2)
        /// A Discord user, from an interaction (the id is the user).
        public static let discordUser = Kind(3)
        /// The service's timers.
        public static let timer = Kind(4)
        /// A Kick webhook.
        public static let kick = Kind(5)
    }

    public var kind: Kind
    /// The user or guild, for the kinds that name one; 0 otherwise.
    public var id: UInt64

    public init(kind: Kind, id: UInt64 = 0) {
        self.kind = kind
        self.id = id
    }

    public static let unknown = Actor(kind: .unknown)
    public static let `operator` = Actor(kind: .operator)
    public static let timer = Actor(kind: .timer)
    public static let kick = Actor(kind: .kick)
    public static func discord(_ user: UserID) -> Actor { Actor(kind: .discordUser, id: user.rawValue) }
    public static func guildKey(_ guild: UInt64) -> Actor { Actor(kind: .guildKey, id: guild) }

    public var description: String {
        switch kind {
        case .operator: "operator"
        case .guildKey: "guild_key:\(id)"
        case .discordUser: "discord:\(id)"
        case .timer: "timer"
        case .kick: "kick"
        default: "unknown"
        }
    }
}
