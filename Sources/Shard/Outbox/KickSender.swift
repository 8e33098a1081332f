public import Domain
public import EventLog
public import Kick

/// Delivers Kick chat messages and event subscriptions through Kick's public API.
///
/// Kick's chat API takes no idempotency key: a crash between the call and its recorded outcome
/// sends that one message again (at most once more per crash).
public struct KickSender: DeliverySender {
    public let api: KickAPI
    public var platform: Destination.Platform { .kick }

    public init(api: KickAPI) { self.api = api }

    public func send(_ delivery: Delivery, guild: GuildID) async -> DeliveryAttempt {
        let answer: KickAPI.Answer
        do {
            switch delivery.destination {
            case .kickChat(let broadcaster, let content, let replyTo):
                answer = try await api.sendChat(broadcaster: broadcaster.rawValue, content: content, replyTo: replyTo)
            case .kickSubscriptions(let broadcaster, let events):
                answer = try await api.subscribe(broadcaster: broadcaster.rawValue, events: events)
            case .discordRole, .discordMessage, .discordFollowUp:
                return .failed(detail: "not a Kick delivery")
            }
        } catch {
            return .retry(after: nil, detail: "Kick could not be reached: \(error)")
        }
        return Self.classify(answer)
    }

    /// The attempt an API answer amounts to.
    static func classify(_ answer: KickAPI.Answer) -> DeliveryAttempt {
        let detail = "\(answer.status) \(answer.body.prefix(200))"
        switch answer.status {
        case 200..<300: return .delivered(detail: detail)
        case 401: return .unauthorized(detail: detail)
        case 408, 425, 429, 500..<600: return .retry(after: answer.retryAfter, detail: detail)
        default: return .failed(detail: detail)
        }
    }
}
