public import Discord
public import Domain
public import EventLog
import Foundation

/// Delivers Discord role changes and channel messages through Discord's REST API, under its rate
/// limits (the API's ``Discord/DiscordRateLimiter``).
///
/// A role grant or removal is idempotent, so a crash between the call and its recorded outcome
/// resends it harmlessly; a message carries a nonce made of the guild and delivery id with
/// `enforce_nonce`, so a resend returns the first message instead of posting twice; the follow-up of a
/// deferred interaction edits its original response, which is idempotent too.
public struct DiscordSender: DeliverySender {
    public let api: DiscordAPI
    public var platform: Destination.Platform { .discord }

    public init(api: DiscordAPI) { self.api = api }

    public func send(_ delivery: Delivery, guild: GuildID) async -> DeliveryAttempt {
        let answer: DiscordAPI.Answer
        do {
            switch delivery.destination {
            case .discordRole(let user, let role, let grant):
                answer = try await api.setRole(
                    guild: guild.rawValue, user: user.rawValue, role: role.rawValue, granted: grant,
                    reason: grant ? "Tally: watch time or link" : "Tally: no longer qualifies")
            case .discordMessage(let channel, let content):
                answer = try await api.createMessage(
                    channel: channel, content: content, nonce: Self.nonce(guild: guild, delivery: delivery.id))
            case .discordFollowUp(let token, let message):
                answer = try await api.editOriginal(token: token, body: Data(message.utf8))
            case .kickChat, .kickSubscriptions:
                return .failed(detail: "not a Discord delivery")
            }
        } catch is CancellationError {
            return .retry(after: nil, detail: "shutting down")
        } catch {
            return .retry(after: nil, detail: "Discord could not be reached: \(error)")
        }
        return Self.classify(answer)
    }

    /// At most 25 characters, unique per guild and delivery.
    static func nonce(guild: GuildID, delivery: DeliveryID) -> String {
        "t" + String(guild.rawValue % 1_000_000_000_000, radix: 36) + "-" + String(delivery.rawValue, radix: 36)
    }

    /// What an answer amounts to: 2xx delivered; 401 stops the platform; 403 and 404 (missing
    /// permissions, unknown member, role or channel) and other 4xx are permanent, with Discord's code
    /// and message as the reason; 429, 408 and 5xx are retried, no sooner than `retry_after`.
    static func classify(_ answer: DiscordAPI.Answer) -> DeliveryAttempt {
        let reason = answer.code.map { "\(Self.reasons[$0] ?? "Discord error") (\($0))" }
        let detail = "\(answer.status) " + (reason.map { $0 + ": " } ?? "") + String(answer.body.prefix(200))
        switch answer.status {
        case 200..<300: return .delivered(detail: "\(answer.status)")
        case 401: return .unauthorized(detail: detail)
        case 408, 429, 500..<600: return .retry(after: answer.retryAfter, detail: detail)
        default: return .failed(detail: detail)
        }
    }

    /// Discord's error codes an admin is shown in words.
    static let reasons: [Int: String] = [
        10003: "unknown channel", 10004: "unknown guild", 10007: "unknown member", 10011: "unknown role",
        50001: "missing access", 50013: "missing permissions (is the role above the bot's?)",
    ]
}
