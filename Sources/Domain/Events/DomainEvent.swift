public import EventLog

/// Everything that can happen in a guild, as a fact in the past tense.
///
/// Each case has a stable type tag (``tag``) and a binary encoding versioned per type
/// (see ``EventCodec``). Every nondeterministic input (time, randomness, external ids) is in the
/// event or its record, so replaying the log reproduces the state exactly.
public enum DomainEvent: Hashable, Sendable {
    // Settings and stream
    case settingChanged(SettingKey, Int64)
    case settingCleared(SettingKey)
    case streamWentLive
    case streamWentOffline
    case trackingOverridden(TrackingMode)
    /// A chatter spoke (the message id is the command's key).
    case chatterSeen(KickUserID, username: String)
    /// A tick credited these people with watch time.
    case watchTimeAccrued(credited: [PersonID], minutes: Int64)

    // Watch-time roles and the role outbox
    case roleThresholdSet(RoleThreshold)
    case roleThresholdRemoved(RoleID)
    case roleGrantRequested(UserID, RoleID)
    case roleRevokeRequested(UserID, RoleID)
    case roleDeliveryRecorded(UserID, RoleID, granted: Bool, outcome: DeliveryOutcome, detail: String)

    // Points
    /// Watch-time minutes converted to points: the conversion and the record of which minutes were
    /// converted are this one event, so minutes never convert twice.
    case pointsEarned(PersonID, points: Int64, minutesConverted: Int64, subscriber: Bool)
    case pointsSpent(PersonID, amount: Int64, reason: String)
    case pointsRefunded(PersonID, amount: Int64, order: OrderID)
    /// An admin adjustment. Version 2 added `by`; version 1 payloads read with `by` = unknown.
    case pointsAdjusted(PersonID, delta: Int64, reason: String, by: UserID)
    /// Version 2 added the report's `createdAt` (nil in version 1), which dedups redeliveries by content.
    case subscriptionRecorded(KickUserID, expiresAt: Timestamp, createdAt: Timestamp?)

    // Point shop
    case shopItemCreated(ShopItem)
    case shopItemEdited(ShopItem)
    case shopItemRestocked(ItemID, stock: Int64)
    case shopItemDeactivated(ItemID)
    /// A purchase: the points, the stock and the person's limit change together with it.
    case itemPurchased(Order)
    case orderFulfilled(OrderID, by: UserID)
    /// Version 2 added `refundTo`: the person the refund and the freed limit slot go to (the buyer's
    /// owner after a link). Version 1 reads with nil: the refund went to the order's person.
    case orderCancelled(OrderID, refund: Int64, by: UserID, reason: String, refundTo: PersonID?)
    case purchaseLimitReset(ItemID, person: PersonID?)

    // Raffle
    /// Version 2 added the beacon round; version 1 reads with round 0.
    case rafflePeriodOpened(RafflePeriod)
    /// The period closed: its ticket table is frozen here and the draws use the beacon `round`.
    /// Version 2 added `table` and `beaconRound`; version 1 reads with nil and 0 (a period closed
    /// before tables were frozen cannot be drawn anymore).
    case rafflePeriodClosed(PeriodID, table: RaffleTable?, beaconRound: UInt64)
    case ticketsGranted(PersonID, amount: Int64, source: TicketSource, reason: String)
    case ticketsRemoved(PersonID, amount: Int64, source: TicketSource, reason: String)
    case raffleExclusionChanged(PersonID, excluded: Bool)
    /// Version 2 added the beacon, the replaced draw and the reason.
    case raffleWinnerDrawn(RaffleDraw)
    /// The public randomness beacon's value for the period's round (from `record_beacon`).
    case raffleBeaconRecorded(PeriodID, RaffleBeacon)
    case raffleSeedRevealed(PeriodID, seed: [UInt8])
    /// Gifted subs from a Kick event (its id is the command's key).
    /// Version 2 added the giftees and the report's `createdAt` (empty and nil in version 1), which
    /// dedup redeliveries under new message ids by content.
    case giftedSubsRecorded(gifter: KickUserID, count: Int64, giftees: [KickUserID], createdAt: Timestamp?)
    /// Kick reported the stream status as of `at` (its `started_at`/`ended_at`); reports older than
    /// the newest applied one are ignored.
    case streamStatusReported(live: Bool, at: Timestamp)

    // Account links
    case linkRequested(UserID, expiresAt: Timestamp)
    case accountLinked(UserID, KickUserID, kickUsername: String)
    case linkRejected(UserID, KickUserID, reason: String)
    case accountUnlinked(UserID, by: UserID)
    case platformUsernameChanged(KickUserID, from: String, to: String)
    /// What a chatter earned before linking moved to the Discord user.
    case chatterEarningsMerged(KickUserID, into: UserID, minutes: Int64, points: Int64, tickets: Int64)

    // Kick and the outbox
    case kickChannelConnected(KickChannel)
    /// A chatter used a chat command (its reply is the ``deliveryRequested(_:)`` after it).
    case chatCommandUsed(KickUserID, command: String)
    /// The outbox must carry out this delivery.
    case deliveryRequested(Delivery)
    /// A delivery's outcome: it happened, or it never will (and why).
    case deliveryRecorded(DeliveryID, outcome: DeliveryOutcome, detail: String)
    /// A Kick authorization began for `user`, bound to `state` and a PKCE verifier.
    case kickAuthorizationStarted(KickAuthorization)
    /// The authorization bound to `state` came back and is used up.
    case kickAuthorizationFinished(state: String)
    /// Gifted subs nobody can be credited for (an anonymous gifter), and why.
    case giftedSubsUnattributed(count: Int64, reason: String)

    // Imports from the old bot (each names the old rows it came from; see ``LegacyRow``)
    /// A person with what the old bot held for them.
    case legacyPersonImported(LegacyPerson)
    /// An old row made into an ordinary event (a setting, a shop item, the open period, its tickets,
    /// an exclusion), folded as that event.
    indirect case legacyRecordImported(LegacyRow, DomainEvent)
    /// A watch-time role known by name only, until `/roles set` maps it to a role id.
    case legacyRoleThresholdImported(LegacyRoleThreshold)
    /// An old shop order as it stands (its points moved in the old bot).
    case legacyOrderImported(LegacyOrder)
    /// An ended old period with its draws, kept as history.
    case legacyPeriodImported(LegacyPeriod)
    /// A webhook or link showed the provisional Kick name with its id: what the name held moves to
    /// the account's owner, without crediting anything anew.
    case kickNameResolved(name: String, KickUserID)
}

/// A decoded event with where and when the log put it.
public struct StoredEvent: Hashable, Sendable {
    public var offset: Offset
    public var guild: GuildID
    public var sequence: UInt64
    public var timestamp: Timestamp
    /// The idempotency key of the command that produced it, on the command's first event only.
    public var key: String?
    /// How many events the command produced, on the first event only.
    public var commandEvents: Int
    /// Who issued the command, on the first event only (`.unknown` before actors were recorded).
    public var origin: Actor
    public var event: DomainEvent

    public init(
        offset: Offset, guild: GuildID, sequence: UInt64, timestamp: Timestamp, key: String?, commandEvents: Int,
        origin: Actor = .unknown, event: DomainEvent
    ) {
        self.offset = offset
        self.guild = guild
        self.sequence = sequence
        self.timestamp = timestamp
        self.key = key
        self.commandEvents = commandEvents
        self.origin = origin
        self.event = event
    }
}
