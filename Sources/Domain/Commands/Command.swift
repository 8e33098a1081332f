public import EventLog

/// A request to change a guild. ``GuildState/decide(_:context:)`` turns it into events or a rejection.
///
/// Every nondeterministic input is in the command or its ``CommandContext``: the time, the raffle
/// seed and its commitment, external ids (Kick message and event ids travel as the idempotency key).
public enum Command: Hashable, Sendable {
    // Settings and stream (admin or Kick webhooks)
    case setSetting(SettingKey, Int64?)
    /// The stream's status; `at` is the report's own time (Kick's `started_at`/`ended_at`), so a late
    /// report older than the newest applied one is ignored. Nil for an admin's toggle.
    case setStreamStatus(live: Bool, at: Timestamp? = nil)
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
    /// A subscription from Kick; `createdAt` (Kick's `created_at`) dedups a redelivery under a new
    /// message id by content.
    case recordSubscription(KickUserID, expiresAt: Timestamp, createdAt: Timestamp? = nil)

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
    /// `seedCommitment` = SHA-256 of a secret seed and to the first drand round after its end.
    case openRafflePeriod(startsAt: Timestamp?, endsAt: Timestamp?, seedCommitment: [UInt8])
    /// Closes the open period, revealing its seed and freezing its ticket table.
    case closeRafflePeriod(seed: [UInt8])
    case grantTickets(PersonID, amount: Int64, reason: String)
    case removeTickets(PersonID, amount: Int64, source: TicketSource?, reason: String)
    case setRaffleExclusion(PersonID, excluded: Bool)
    /// Draws `winners` extra winners of a closed period (default: the newest closed one) from its
    /// frozen table, with its revealed seed and recorded beacon. A `seed`, when given, must match the
    /// period's commitment.
    case drawRaffle(seed: [UInt8]?, winners: Int, period: PeriodID? = nil)
    /// Draws one winner in place of draw `replaces` of a closed period, saying why.
    case rerollRaffle(period: PeriodID?, replaces: UInt32, reason: String)
    /// Records the public randomness beacon's value for a closed period's committed round.
    case recordBeacon(period: PeriodID?, round: UInt64, value: [UInt8])
    /// Gifted subs from Kick (key: the Kick event id); nil gifter is anonymous. With `createdAt` (and
    /// the giftees, whose number must then be `count`), a redelivery under a new message id is
    /// recognised by content.
    case recordGiftedSubs(
        gifter: KickUserID?, username: String, count: Int64, giftees: [KickUserID] = [], createdAt: Timestamp? = nil)

    // Account links
    case requestLink(UserID, expiresAt: Timestamp)
    case confirmLink(UserID, KickUserID, kickUsername: String)
    case rejectLink(UserID, KickUserID, reason: String)
    case unlink(UserID)

    // Kick and the outbox
    /// Connects the guild to a Kick channel: its webhooks route here, and its event subscriptions
    /// are requested through the outbox.
    case connectKickChannel(KickChannel)
    /// A chat message that may be a chat command (`!points` …): answered in Kick chat through the
    /// outbox when the command is enabled and the chatter is off cooldown (key: derived from the
    /// Kick message id).
    case answerChatCommand(KickUserID, username: String, message: String, messageID: String)
    /// The outcome of a delivery the outbox sent.
    case recordDelivery(DeliveryID, outcome: DeliveryOutcome, detail: String)
    /// Requests the connected channel's event subscriptions again (`tally kick subscribe`).
    case subscribeKickEvents
    /// A viewer starts linking their Kick account: Kick's authorization for `user`, bound to `state`
    /// and the PKCE `verifier`, valid until `expiresAt` (at most 10 minutes).
    case startKickAuthorization(UserID, state: String, verifier: String, expiresAt: Timestamp)
    /// Kick redirected back with `state`: it is used up (single use), whatever follows.
    case finishKickAuthorization(state: String)

    // Imports
    /// A guild's import from the old bot (`tally import-legacy`): see ``GuildState/decideImport(_:time:)``.
    case importLegacy(LegacyImport)
}

/// What comes with every command from outside the rules.
public struct CommandContext: Sendable {
    /// The idempotency key: a Discord interaction id, a Kick message or event id, or a client key.
    public var key: String
    /// The time the command is decided at; recorded as the events' timestamp.
    public var time: Timestamp
    /// The admin (or Discord user) who issued it; `.unknown` for timers and webhooks.
    public var actor: UserID
    /// Who issued it, as the audit trail shows it (recorded in the first event's envelope). Defaults
    /// to the Discord user `actor` when one is given.
    public var origin: Actor
    /// Whether the service itself issued it (a timer): only such commands may use keys in the
    /// ``internalKeyPrefix`` namespace, so no client key can collide with a timer's.
    public var isInternal: Bool

    /// Keys of commands the service issues itself begin with this; clients cannot use it.
    public static let internalKeyPrefix = "internal:"

    public init(key: String, time: Timestamp, actor: UserID = .unknown) {
        self.key = key
        self.time = time
        self.actor = actor
        self.origin = actor == .unknown ? .unknown : .discord(actor)
        self.isInternal = false
    }

    public init(key: String, time: Timestamp, actor: UserID = .unknown, origin: Actor) {
        self.init(key: key, time: time, actor: actor)
        self.origin = origin
    }

    /// A command the service issues itself (timers), keyed `internal:<name>`.
    public static func `internal`(_ name: String, time: Timestamp) -> CommandContext {
        var context = CommandContext(key: internalKeyPrefix + name, time: time, origin: .timer)
        context.isInternal = true
        return context
    }
}

/// Why a command was refused. Nothing changed.
public struct Rejection: Error, Hashable, Sendable, CustomStringConvertible {
    /// A machine-readable code (`insufficient_points`, `no_open_period` …): static members, so adding
    /// one breaks no caller.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// Whether the command itself is wrong, or valid but refused by the guild's state.
        public struct Kind: Hashable, Sendable {
            let name: String
            /// The command is malformed or out of range whatever the state (an HTTP 400).
            public static let invalid = Kind(name: "invalid")
            /// The command is well formed but the state refuses it (an HTTP 409).
            public static let conflict = Kind(name: "conflict")
            /// A rule failed in a way no input should cause (an HTTP 500).
            public static let bug = Kind(name: "bug")
        }

        public let name: String
        public let kind: Kind
        private init(_ name: String, _ kind: Kind) {
            self.name = name
            self.kind = kind
        }
        public var description: String { name }

        /// The Discord user or Kick account is linked already.
        public static let alreadyLinked = Code("already_linked", .conflict)
        /// A balance, ticket count, total or id would pass the largest value the guild can hold (2⁶³ − 1).
        public static let amountOverflow = Code("amount_overflow", .conflict)
        /// The person has fewer points than the command spends.
        public static let insufficientPoints = Code("insufficient_points", .conflict)
        /// The person has fewer tickets than the command removes.
        public static let insufficientTickets = Code("insufficient_tickets", .conflict)
        /// A rule failed in a way no input should cause (a bug).
        public static let internalError = Code("internal", .bug)
        /// An amount is zero, negative or out of range.
        public static let invalidAmount = Code("invalid_amount", .invalid)
        /// A raffle seed commitment is not 32 bytes.
        public static let invalidCommitment = Code("invalid_commitment", .invalid)
        /// An expiry is not within its window from now (a conflict with the clock: the same request
        /// sent at another time could be accepted).
        public static let invalidExpiry = Code("invalid_expiry", .conflict)
        /// A shop item's fields are out of range.
        public static let invalidItem = Code("invalid_item", .invalid)
        /// The idempotency key is empty or longer than 200 bytes.
        public static let invalidKey = Code("invalid_key", .invalid)
        /// A raffle period's start and end do not make a period, or it ends in the past: a rule over
        /// several fields and the clock, which no field's schema can state (so 409, not 400).
        public static let invalidPeriod = Code("invalid_period", .conflict)
        /// A name, reason or requirement is empty or too long.
        public static let invalidText = Code("invalid_text", .invalid)
        /// A setting's value is outside its range.
        public static let invalidValue = Code("invalid_value", .invalid)
        /// A shop item with that id exists.
        public static let itemExists = Code("item_exists", .conflict)
        /// The shop item is deactivated.
        public static let itemInactive = Code("item_inactive", .conflict)
        /// The person reached the item's purchase limit.
        public static let limitReached = Code("limit_reached", .conflict)
        /// There is no pending link request to confirm or reject.
        public static let noLinkRequest = Code("no_link_request", .conflict)
        /// No raffle period is open.
        public static let noOpenPeriod = Code("no_open_period", .conflict)
        /// The period has no tickets to draw from.
        public static let noParticipants = Code("no_participants", .conflict)
        /// The guild has never had a raffle period (or none is closed, for a draw).
        public static let noPeriod = Code("no_period", .conflict)
        /// A tick came sooner than the tick interval after the last one that credited watch time.
        public static let tickTooEarly = Code("tick_too_early", .conflict)
        /// The raffle period has no recorded beacon value yet: draws wait for it.
        public static let noBeacon = Code("no_beacon", .conflict)
        /// A beacon value is not 32 bytes.
        public static let invalidBeacon = Code("invalid_beacon", .invalid)
        /// The beacon round is not the one the period committed to.
        public static let beaconRoundMismatch = Code("beacon_round_mismatch", .conflict)
        /// The beacon round is not published yet.
        public static let beaconNotDue = Code("beacon_not_due", .conflict)
        /// Another value was recorded for the period's beacon already.
        public static let beaconRecorded = Code("beacon_recorded", .conflict)
        /// The raffle period is still open: only closed periods are drawn.
        public static let periodNotClosed = Code("period_not_closed", .conflict)
        /// The open period has reached its end and waits for its close: its tickets no longer change.
        public static let periodEnded = Code("period_ended", .conflict)
        /// The period was closed before tables were frozen (version 1), so it cannot be drawn.
        public static let periodNotFrozen = Code("period_not_frozen", .conflict)
        /// No raffle period has that id.
        public static let unknownPeriod = Code("unknown_period", .conflict)
        /// No draw of the period has that number.
        public static let unknownDraw = Code("unknown_draw", .conflict)
        /// The draw was rerolled already.
        public static let drawReplaced = Code("draw_replaced", .conflict)
        /// The Discord user has no linked Kick account.
        public static let notLinked = Code("not_linked", .conflict)
        /// No grant or removal of that role is pending for that user.
        public static let notPending = Code("not_pending", .conflict)
        /// The order was fulfilled or cancelled already.
        public static let orderNotPending = Code("order_not_pending", .conflict)
        /// The revealed seed does not match the period's commitment.
        public static let seedMismatch = Code("seed_mismatch", .conflict)
        /// The shop item is out of stock.
        public static let outOfStock = Code("out_of_stock", .conflict)
        /// A raffle period is open already.
        public static let periodOpen = Code("period_open", .conflict)
        /// No shop item has that id.
        public static let unknownItem = Code("unknown_item", .conflict)
        /// No order has that id.
        public static let unknownOrder = Code("unknown_order", .conflict)
        /// The guild has no Kick channel connected.
        public static let notConnected = Code("not_connected", .conflict)
        /// No Kick authorization is waiting under that state (used already, or never started).
        public static let unknownAuthorization = Code("unknown_authorization", .conflict)
        /// The Kick authorization expired before it came back.
        public static let authorizationExpired = Code("authorization_expired", .conflict)
        /// No delivery with that id was ever requested.
        public static let unknownDelivery = Code("unknown_delivery", .conflict)
        /// No watch-time role has that id.
        public static let unknownRole = Code("unknown_role", .conflict)
        /// No setting has that name.
        public static let unknownSetting = Code("unknown_setting", .invalid)
        /// The guild holds Tally history, so an import needs `--merge`.
        public static let historyExists = Code("history_exists", .conflict)
    }

    public var code: Code
    /// A message safe to show the user.
    public var message: String

    public init(_ code: Code, _ message: String) {
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
