public import EventLog

/// A request to change a guild. ``GuildState/decide(_:context:)`` turns it into events or a rejection.
///
/// Every nondeterministic input is in the command or its ``CommandContext``: the time, the raffle
/// seed and its commitment, external ids (Kick message and event ids travel as the idempotency key).
public enum Command: Hashable, Sendable {
    // Settings and stream (admin or Kick webhooks)
    case setSetting(SettingKey, Int64?)
    case setStreamStatus(live: Bool)
    case overrideTracking(TrackingMode)
    /// A chat message (key: the Kick message id).
    case recordChatActivity(KickUserID, username: String)
    /// The watch-time timer fired (key: e.g. `tick:<minute>`).
    case tick

    // Roles
    case setRoleThreshold(RoleThreshold)
    case removeRoleThreshold(RoleID)
    case recordRoleDelivery(UserID, RoleID, granted: Bool, outcome: DeliveryOutcome, detail: String)

    // Points
    case spendPoints(PersonID, amount: Int64, reason: String)
    case adjustPoints(PersonID, delta: Int64, reason: String)
    case recordSubscription(KickUserID, expiresAt: Timestamp)

    // Shop
    case createShopItem(ShopItem)
    case editShopItem(ShopItem)
    case restockShopItem(ItemID, stock: Int64)
    case deactivateShopItem(ItemID)
    case purchase(ItemID, PersonID, requirement: String)
    case fulfilOrder(OrderID)
    case cancelOrder(OrderID, reason: String)
    case resetPurchaseLimit(ItemID, person: PersonID?)

    // Raffle
    /// Opens a period (the current UTC calendar month when no span is given), committing to
    /// `seedCommitment` = SHA-256 of a secret seed.
    case openRafflePeriod(startsAt: Timestamp?, endsAt: Timestamp?, seedCommitment: [UInt8])
    /// Closes the open period, revealing its seed.
    case closeRafflePeriod(seed: [UInt8])
    case grantTickets(PersonID, amount: Int64, reason: String)
    case removeTickets(PersonID, amount: Int64, source: TicketSource?, reason: String)
    case setRaffleExclusion(PersonID, excluded: Bool)
    /// Draws `winners` winners with the period's seed (which must match the commitment).
    case drawRaffle(seed: [UInt8], winners: Int)
    /// Gifted subs from Kick (key: the Kick event id); nil gifter is anonymous.
    case recordGiftedSubs(gifter: KickUserID?, username: String, count: Int64)

    // Account links
    case requestLink(UserID, expiresAt: Timestamp)
    case confirmLink(UserID, KickUserID, kickUsername: String)
    case rejectLink(UserID, KickUserID, reason: String)
    case unlink(UserID)
}

/// What comes with every command from outside the rules.
public struct CommandContext: Sendable {
    /// The idempotency key: a Discord interaction id, a Kick message or event id, or a client key.
    public var key: String
    /// The time the command is decided at; recorded as the events' timestamp.
    public var time: Timestamp
    /// The admin (or Discord user) who issued it; `.unknown` for timers and webhooks.
    public var actor: UserID

    public init(key: String, time: Timestamp, actor: UserID = .unknown) {
        self.key = key
        self.time = time
        self.actor = actor
    }
}

/// Why a command was refused. Nothing changed.
public struct Rejection: Error, Hashable, Sendable, CustomStringConvertible {
    /// A machine-readable code (`insufficient_points`, `no_open_period` …).
    public var code: String
    /// A message safe to show the user.
    public var message: String

    public init(_ code: String, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}

/// The result of deciding a command.
public enum Decision: Hashable, Sendable {
    /// Append these events (possibly none: nothing to do).
    case accepted([DomainEvent])
    /// The key was seen before: the command's first event had this sequence number and it produced
    /// this many events. Nothing is appended again.
    case duplicate(IdempotencyKeys.Outcome)
    case rejected(Rejection)
}
