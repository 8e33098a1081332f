/// Whom something belongs to inside a guild: a Discord user once linked, a Kick chatter before.
///
/// Everything a person earns is keyed by this, never by a username string; a chatter keeps its id
/// across renames, and linking merges the chatter's earnings into the Discord user (an event says so).
public enum PersonID: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    case discord(UserID)
    case kick(KickUserID)
    /// A Kick chatter the old bot knew only by name (lower-case), until a webhook or link shows the
    /// name with its Kick id (``DomainEvent/kickNameResolved(name:_:)``).
    case kickName(String)

    public var description: String {
        switch self {
        case .discord(let u): "discord:\(u)"
        case .kick(let k): "kick:\(k.rawValue)"
        case .kickName(let name): "kick_name:\(name)"
        }
    }

    /// Parses `discord:123`, `kick:456`, `kick_name:alice` or a bare Discord snowflake.
    public init?(parsing text: String) {
        if text.hasPrefix("discord:"), let v = UInt64(text.dropFirst(8)) {
            self = .discord(UserID(v))
        } else if text.hasPrefix("kick:"), let v = UInt64(text.dropFirst(5)) {
            self = .kick(KickUserID(v))
        } else if text.hasPrefix("kick_name:"), text.count > 10 {
            self = .kickName(String(text.dropFirst(10)))
        } else if let v = UInt64(text) {
            self = .discord(UserID(v))
        } else {
            return nil
        }
    }

    public var discordUser: UserID? {
        if case .discord(let u) = self { return u }
        return nil
    }

    /// Discord users sort before chatters, each by id, and provisional names last: the fixed order of
    /// raffle ticket ranges.
    public static func < (a: PersonID, b: PersonID) -> Bool {
        switch (a, b) {
        case (.discord(let x), .discord(let y)): x < y
        case (.kick(let x), .kick(let y)): x < y
        case (.kickName(let x), .kickName(let y)): x < y
        case (.discord, _): true
        case (_, .discord): false
        case (.kick, .kickName): true
        case (.kickName, .kick): false
        }
    }
}
