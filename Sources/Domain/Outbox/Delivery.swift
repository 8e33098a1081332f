public import EventLog

/// A guild's delivery number: the outbox's id for one effect on the outside world.
public struct DeliveryID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public var description: String { String(rawValue) }
    public static func < (a: DeliveryID, b: DeliveryID) -> Bool { a.rawValue < b.rawValue }
}

/// Where an outbox delivery goes and what it says. One outbox serves every platform: an intent is an
/// event (``DomainEvent/deliveryRequested(_:)``), a worker sends it, its outcome is an event
/// (``DomainEvent/deliveryRecorded(_:outcome:detail:)``).
public enum Destination: Hashable, Sendable {
    /// A message in the channel's Kick chat, sent as the bot; `replyTo` is the Kick message it answers.
    case kickChat(broadcaster: KickUserID, content: String, replyTo: String?)
    /// The channel's event subscriptions, created through Kick's public API.
    case kickSubscriptions(broadcaster: KickUserID, events: [String])
    /// A Discord role granted to (or removed from) a member: the watch-time roles and the linked role.
    case discordRole(user: UserID, role: RoleID, grant: Bool)
    /// A message posted in a Discord channel (raffle winners, shop orders for the staff).
    case discordMessage(channel: UInt64, content: String)
    /// The answer to a deferred interaction (one answered type 5, "thinking…"): `message` is the JSON
    /// body of `PATCH /webhooks/{application}/{token}/messages/@original`. The token lives 15 minutes.
    case discordFollowUp(token: String, message: String)

    /// The platform that carries it out.
    public var platform: Platform {
        switch self {
        case .kickChat, .kickSubscriptions: .kick
        case .discordRole, .discordMessage, .discordFollowUp: .discord
        }
    }

    /// Deliveries with the same key are carried out in the order they were requested: a later one waits
    /// while an earlier one is being retried (a member's grant then removal never ends granted). Nil:
    /// no order to keep.
    public var orderingKey: String? {
        switch self {
        case .kickChat, .kickSubscriptions: nil
        case .discordRole(let user, _, _): "discord-member:\(user)"
        case .discordMessage(let channel, _): "discord-channel:\(channel)"
        case .discordFollowUp: nil
        }
    }

    /// A delivery's platform, for workers and metrics.
    public struct Platform: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        public var description: String { name }
        public static let kick = Platform(name: "kick")
        public static let discord = Platform(name: "discord")
    }
}

/// One effect the guild asked for, waiting for (or past) its delivery.
public struct Delivery: Hashable, Sendable {
    public var id: DeliveryID
    public var destination: Destination
    /// When it was requested.
    public var requestedAt: Timestamp

    public init(id: DeliveryID, destination: Destination, requestedAt: Timestamp) {
        self.id = id
        self.destination = destination
        self.requestedAt = requestedAt
    }
}
