public import Foundation

/// A verified Kick webhook, parsed by its `Kick-Event-Type` (version 1 payloads).
public enum KickWebhookEvent: Sendable, Equatable {
    /// `chat.message.sent`.
    case chatMessage(broadcaster: KickUser, sender: KickUser, messageID: String, content: String, createdAt: Int64?)
    /// `livestream.status.updated`; `at` is when it started or ended, as Kick says.
    case streamStatus(broadcaster: KickUser, isLive: Bool, at: Int64?)
    /// `channel.subscription.new` and `.renewal`.
    case subscription(broadcaster: KickUser, subscriber: KickUser, renewal: Bool, createdAt: Int64?, expiresAt: Int64?)
    /// `channel.subscription.gifts`; an anonymous gifter has no id.
    case gifts(broadcaster: KickUser, gifter: KickUser, giftees: [KickUser], createdAt: Int64?, expiresAt: Int64?)
    /// Any other type (Tally acknowledges and drops it).
    case other(type: String)

    /// The channel the event belongs to (nil for an event type Tally does not read).
    public var broadcaster: KickUser? {
        switch self {
        case .chatMessage(let b, _, _, _, _), .streamStatus(let b, _, _), .subscription(let b, _, _, _, _),
            .gifts(let b, _, _, _, _):
            b
        case .other: nil
        }
    }

    /// The event types Tally reads.
    public static let readTypes: Set<String> = [
        "chat.message.sent", "livestream.status.updated", "channel.subscription.new", "channel.subscription.renewal",
        "channel.subscription.gifts",
    ]

    /// Parses a verified body of event `type`.
    ///
    /// - Throws: ``KickError`` `malformedPayload` when the body is not that type's JSON.
    public init(type: String, body: Data) throws {
        let decoder = JSONDecoder()
        func decode<T: Decodable>(_: T.Type) throws -> T {
            do { return try decoder.decode(T.self, from: body) } catch {
                throw KickError(.malformedPayload, "the body is not a \(type) event", underlying: error)
            }
        }
        switch type {
        case "chat.message.sent":
            let p = try decode(ChatPayload.self)
            self = .chatMessage(
                broadcaster: p.broadcaster, sender: p.sender, messageID: p.messageId, content: p.content,
                createdAt: p.createdAt.flatMap(RFC3339.milliseconds))
        case "livestream.status.updated":
            let p = try decode(StreamPayload.self)
            let at = (p.isLive ? p.startedAt : p.endedAt ?? p.startedAt).flatMap(RFC3339.milliseconds)
            self = .streamStatus(broadcaster: p.broadcaster, isLive: p.isLive, at: at)
        case "channel.subscription.new", "channel.subscription.renewal":
            let p = try decode(SubscriptionPayload.self)
            self = .subscription(
                broadcaster: p.broadcaster, subscriber: p.subscriber, renewal: type.hasSuffix("renewal"),
                createdAt: p.createdAt.flatMap(RFC3339.milliseconds),
                expiresAt: p.expiresAt.flatMap(RFC3339.milliseconds))
        case "channel.subscription.gifts":
            let p = try decode(GiftsPayload.self)
            self = .gifts(
                broadcaster: p.broadcaster, gifter: p.gifter ?? KickUser(isAnonymous: true), giftees: p.giftees,
                createdAt: p.createdAt.flatMap(RFC3339.milliseconds),
                expiresAt: p.expiresAt.flatMap(RFC3339.milliseconds))
        default:
            self = .other(type: type)
        }
    }

    struct ChatPayload: Decodable {
        var messageId: String
        var broadcaster: KickUser
        var sender: KickUser
        var content: String
        var createdAt: String?
        enum CodingKeys: String, CodingKey {
            case broadcaster, sender, content
            case messageId = "message_id", createdAt = "created_at"
        }
    }

    struct StreamPayload: Decodable {
        var broadcaster: KickUser
        var isLive: Bool
        var startedAt: String?
        var endedAt: String?
        enum CodingKeys: String, CodingKey {
            case broadcaster
            case isLive = "is_live", startedAt = "started_at", endedAt = "ended_at"
        }
    }

    struct SubscriptionPayload: Decodable {
        var broadcaster: KickUser
        var subscriber: KickUser
        var createdAt: String?
        var expiresAt: String?
        enum CodingKeys: String, CodingKey {
            case broadcaster, subscriber
            case createdAt = "created_at", expiresAt = "expires_at"
        }
    }

    struct GiftsPayload: Decodable {
        var broadcaster: KickUser
        var gifter: KickUser?
        var giftees: [KickUser]
        var createdAt: String?
        var expiresAt: String?
        enum CodingKeys: String, CodingKey {
            case broadcaster, gifter, giftees
            case createdAt = "created_at", expiresAt = "expires_at"
        }
    }
}

/// A Kick user as webhooks describe one. An anonymous user has no id or name.
public struct KickUser: Sendable, Equatable, Codable {
    public var isAnonymous: Bool
    public var userID: UInt64?
    public var username: String?
    public var channelSlug: String?

    public init(isAnonymous: Bool = false, userID: UInt64? = nil, username: String? = nil, channelSlug: String? = nil) {
        self.isAnonymous = isAnonymous
        self.userID = userID
        self.username = username
        self.channelSlug = channelSlug
    }

    enum CodingKeys: String, CodingKey {
        case username
        case isAnonymous = "is_anonymous", userID = "user_id", channelSlug = "channel_slug"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        isAnonymous = try c.decodeIfPresent(Bool.self, forKey: .isAnonymous) ?? false
        userID = try c.decodeIfPresent(UInt64.self, forKey: .userID)
        username = try c.decodeIfPresent(String.self, forKey: .username)
        channelSlug = try c.decodeIfPresent(String.self, forKey: .channelSlug)
    }
}
