public import EventLog

/// Everything one guild's rules need to decide a command: a pure fold of the guild's events
/// (``apply(_:)``). No other guild's data is reachable from it.
public struct GuildState: Sendable, Equatable {
    public let guild: GuildID
    /// The sequence number of the last event applied (0 before any).
    public internal(set) var lastSequence: UInt64 = 0
    /// The timestamp of the last event applied.
    public internal(set) var lastTimestamp = Timestamp(milliseconds: 0)

    public internal(set) var settings = GuildSettings()

    // Stream and watch time
    public internal(set) var live = false
    /// Whether Kick (or an admin) ever reported the stream status; until then ``isLive`` follows the
    /// `live_when_unknown` setting.
    public internal(set) var liveKnown = false
    /// The time of the newest stream status report applied (`created_at`-style, from the report).
    public internal(set) var streamStatusAt: Timestamp?
    public internal(set) var tracking = TrackingMode.automatic
    /// When the last tick that credited watch time ran: the next is due an interval later.
    public internal(set) var lastTickAt: Timestamp?
    /// When each chatter last spoke (entries older than the activity window are dropped on ticks).
    public internal(set) var lastSpoke: [KickUserID: Timestamp] = [:]
    /// `lastSpoke` is pruned when it reaches this size.
    var pruneLastSpokeAt = 64
    public internal(set) var chatters: [KickUserID: ChatterState] = [:]
    public internal(set) var people = PersonTable()

    // Links
    public internal(set) var links: [UserID: KickUserID] = [:]
    public internal(set) var pendingLinks: [UserID: Timestamp] = [:]

    // Roles
    public internal(set) var thresholds: [RoleID: RoleThreshold] = [:]
    /// The roles the outbox has asked Discord to grant each user (what they should hold).
    public internal(set) var grantedRoles: [UserID: Set<RoleID>] = [:]
    /// Role changes requested and not yet recorded as delivered.
    public internal(set) var outbox: [RoleChange: Timestamp] = [:]

    // Shop
    public internal(set) var items: [ItemID: ShopItem] = [:]
    public internal(set) var orders: [OrderID: Order] = [:]
    /// Purchase times that count toward each item's per-person limit.
    public internal(set) var purchases: [ItemID: [PersonID: [PurchaseSlot]]] = [:]
    public internal(set) var lastOrder = OrderID(0)

    // Raffle
    public internal(set) var raffle = RaffleState()

    // Kick and the outbox
    public internal(set) var kickChannel: KickChannel?
    /// When each chatter last had a chat command answered (for the cooldown).
    public internal(set) var lastChatCommand: [KickUserID: Timestamp] = [:]
    /// Deliveries requested and without an outcome yet, by id.
    public internal(set) var deliveries: [DeliveryID: Delivery] = [:]
    public internal(set) var lastDelivery = DeliveryID(0)
    /// Kick authorizations started and not yet finished, by state (expired ones are dropped as time passes).
    public internal(set) var kickAuthorizations: [String: KickAuthorization] = [:]

    // Chat games and messages
    public internal(set) var games = GamesState()
    /// What imports from the old bot brought: rows imported, provisional links, role names to map.
    public internal(set) var legacy = LegacyState()

    // Idempotency
    public internal(set) var keys = IdempotencyKeys()
    /// Whether ``apply(_:)`` records idempotency keys. Deciding needs them; a state folded only to
    /// write read models (which hold no keys) can skip them. Default true.
    public var remembersKeys = true

    public init(guild: GuildID, globalDefaults: [SettingKey: Int64] = [:]) {
        self.guild = guild
        settings.globalDefaults = globalDefaults
    }

    public func person(_ id: PersonID) -> PersonState { people[id] ?? PersonState() }

    /// Whether the stream counts as live: as last reported, or by `live_when_unknown` when never
    /// reported.
    public var isLive: Bool { liveKnown ? live : settings[.liveWhenUnknown] == 1 }

    /// Where the live state that watch time follows comes from: `forced_on` / `forced_off` (an admin's
    /// override), `reported` (Kick's or an admin's status report), or `unknown_assumed_live` /
    /// `unknown_assumed_offline` (never reported; the `live_when_unknown` setting decides).
    public var liveSource: String {
        switch tracking {
        case .forcedOn: "forced_on"
        case .forcedOff: "forced_off"
        case .automatic:
            liveKnown
                ? "reported" : settings[.liveWhenUnknown] == 1 ? "unknown_assumed_live" : "unknown_assumed_offline"
        }
    }

    /// The key under which a Kick gift report's content is remembered (internal namespace).
    static func contentKey(gifter: KickUserID, count: Int64, giftees: [KickUserID], createdAt: Timestamp) -> String {
        let ids = giftees.map(\.rawValue).sorted().map(String.init).joined(separator: ",")
        return CommandContext.internalKeyPrefix
            + "content:gift:\(gifter.rawValue):\(createdAt.rawValue):\(count):\(ids)"
    }

    /// The key under which a Kick subscription report's content is remembered (internal namespace).
    static func contentKey(subscriber: KickUserID, expiresAt: Timestamp, createdAt: Timestamp) -> String {
        CommandContext.internalKeyPrefix
            + "content:sub:\(subscriber.rawValue):\(createdAt.rawValue):\(expiresAt.rawValue)"
    }

    /// The person a command or effect naming `p` reaches: a linked chatter's Discord user.
    public func resolve(_ p: PersonID) -> PersonID {
        if case .kick(let k) = p { return owner(of: k) }
        return p
    }

    /// The person a chatter's earnings belong to: the linked Discord user, or the chatter itself.
    public func owner(of chatter: KickUserID) -> PersonID {
        // (A provisional link becomes a real one when the name shows its id: see `kickNameResolved`.)
        if let user = chatters[chatter]?.linkedUser { return .discord(user) }
        return .kick(chatter)
    }
}

/// One purchase counting toward an item's per-person limit.
public struct PurchaseSlot: Hashable, Sendable {
    public var order: OrderID
    public var time: Timestamp

    public init(order: OrderID, time: Timestamp) {
        self.order = order
        self.time = time
    }
}

/// A role grant or revocation waiting for delivery.
public struct RoleChange: Hashable, Sendable, Codable {
    public var user: UserID
    public var role: RoleID
    public var grant: Bool

    public init(user: UserID, role: RoleID, grant: Bool) {
        self.user = user
        self.role = role
        self.grant = grant
    }
}

/// The raffle's state in one guild.
public struct RaffleState: Hashable, Sendable {
    /// The open period, if any (at most one).
    public internal(set) var current: RafflePeriod?
    public internal(set) var lastPeriod = PeriodID(0)
    /// Draws of the current (or last closed) period, in order.
    public internal(set) var draws: [RaffleDraw] = []
    /// Every draw of every period, for verification.
    public internal(set) var history: [PeriodID: [RaffleDraw]] = [:]
    public internal(set) var periods: [PeriodID: RafflePeriod] = [:]
    public internal(set) var revealedSeeds: [PeriodID: [UInt8]] = [:]
    /// Each closed period's ticket table as its close froze it (periods closed by version 1 events
    /// have none).
    public internal(set) var tables: [PeriodID: RaffleTable] = [:]
    /// The beacon values recorded for closed periods.
    public internal(set) var beacons: [PeriodID: RaffleBeacon] = [:]

    public init() {}

    /// The newest closed period, if any (periods close in order: at most one is open).
    public var newestClosed: PeriodID? {
        let id = current == nil ? lastPeriod.rawValue : lastPeriod.rawValue - 1
        return id == 0 ? nil : PeriodID(id)
    }

    /// Whether `period` has been opened and closed.
    public func isClosed(_ period: PeriodID) -> Bool {
        periods[period] != nil && current?.id != period
    }
}
