public import Domain
public import EventLog

/// What one attempt at a delivery came to.
public enum DeliveryAttempt: Sendable, Equatable {
    /// The platform did it.
    case delivered(detail: String)
    /// Worth trying again later (429, 5xx, a timeout, no connection), no sooner than `after` when
    /// the platform said so.
    case retry(after: Duration?, detail: String)
    /// The platform refused our credentials: stop sending to it until the operator fixes them.
    case unauthorized(detail: String)
    /// The platform refused for good (unknown channel, missing permissions, invalid content).
    case failed(detail: String)
}

/// Carries out deliveries of one platform (Kick, Discord).
public protocol DeliverySender: Sendable {
    var platform: Destination.Platform { get }
    func send(_ delivery: Delivery, guild: GuildID) async -> DeliveryAttempt
}
