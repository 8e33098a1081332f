public import EventLog

/// Whether watch time is tracked: by the live status and chat activity, or forced by an admin.
public enum TrackingMode: UInt8, Hashable, Sendable, Codable, CaseIterable {
    case automatic = 0, forcedOn = 1, forcedOff = 2
}

/// Where raffle tickets came from.
public enum TicketSource: UInt8, Hashable, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case watchtime = 0, giftedSub = 1, shop = 2, admin = 3

    public var description: String {
        switch self {
        case .watchtime: "watchtime"
        case .giftedSub: "gifted_sub"
        case .shop: "shop"
        case .admin: "admin"
        }
    }

    public init?(name: String) {
        guard let s = TicketSource.allCases.first(where: { $0.description == name }) else { return nil }
        self = s
    }
}

/// A watch-time role: a linked person whose minutes reach `minutes` should hold `role`.
public struct RoleThreshold: Hashable, Sendable, Codable {
    public var role: RoleID
    public var name: String
    public var minutes: Int64
    /// Explicit order among the guild's thresholds (ascending).
    public var position: Int32
    public var enabled: Bool

    public init(role: RoleID, name: String, minutes: Int64, position: Int32, enabled: Bool = true) {
        self.role = role
        self.name = name
        self.minutes = minutes
        self.position = position
        self.enabled = enabled
    }
}

/// How a role change fared at Discord.
public enum DeliveryOutcome: UInt8, Hashable, Sendable, Codable {
    /// Discord applied it.
    case delivered = 0
    /// Discord refused for good (unknown member or role, missing permissions): not retried.
    case failedPermanently = 1
}

/// What a shop item is.
public enum ShopItemKind: Hashable, Sendable, Codable {
    /// Fulfilled by an admin.
    case standard
    /// Grants this many raffle tickets at once.
    case raffleTickets(Int64)
}

/// A point-shop item as last defined.
public struct ShopItem: Hashable, Sendable, Codable {
    public var id: ItemID
    public var name: String
    public var price: Int64
    /// Items left; -1 is unlimited.
    public var stock: Int64
    /// Purchases per person within `limitWindowSeconds`; -1 is unlimited.
    public var perPersonLimit: Int64
    /// The rolling window of the limit in seconds; 0 is all time.
    public var limitWindowSeconds: Int64
    /// A question the buyer answers (empty when none).
    public var requirementPrompt: String
    public var kind: ShopItemKind
    public var active: Bool

    public init(
        id: ItemID, name: String, price: Int64, stock: Int64 = -1, perPersonLimit: Int64 = -1,
        limitWindowSeconds: Int64 = 0, requirementPrompt: String = "", kind: ShopItemKind = .standard,
        active: Bool = true
    ) {
        self.id = id
        self.name = name
        self.price = price
        self.stock = stock
        self.perPersonLimit = perPersonLimit
        self.limitWindowSeconds = limitWindowSeconds
        self.requirementPrompt = requirementPrompt
        self.kind = kind
        self.active = active
    }
}

/// The state of a shop order.
public enum OrderStatus: UInt8, Hashable, Sendable, Codable, CustomStringConvertible {
    case pending = 0, completed = 1, cancelled = 2

    public var description: String {
        switch self {
        case .pending: "pending"
        case .completed: "completed"
        case .cancelled: "cancelled"
        }
    }
}

/// A purchase as made.
public struct Order: Hashable, Sendable, Codable {
    public var id: OrderID
    public var item: ItemID
    public var person: PersonID
    public var price: Int64
    /// Raffle tickets granted with it (for ticket items), in `period`.
    public var tickets: Int64
    public var period: PeriodID?
    public var requirement: String
    public var status: OrderStatus

    public init(
        id: OrderID, item: ItemID, person: PersonID, price: Int64, tickets: Int64 = 0, period: PeriodID? = nil,
        requirement: String = "", status: OrderStatus = .pending
    ) {
        self.id = id
        self.item = item
        self.person = person
        self.price = price
        self.tickets = tickets
        self.period = period
        self.requirement = requirement
        self.status = status
    }
}

/// A raffle period as opened: its span and its two commitments — to its secret server seed and to
/// a future round of the public randomness beacon (see ``RaffleDrawing``).
public struct RafflePeriod: Hashable, Sendable, Codable {
    public var id: PeriodID
    public var startsAt: Timestamp
    public var endsAt: Timestamp
    /// SHA-256 of the server seed, published when the period opens.
    public var seedCommitment: [UInt8]
    /// The drand round whose randomness the draws mix in: the first round published after `endsAt`
    /// (``DrandChain/round(after:)``). 0 for periods opened before beacons existed (version 1 events);
    /// their close commits to a round instead.
    public var beaconRound: UInt64

    public init(id: PeriodID, startsAt: Timestamp, endsAt: Timestamp, seedCommitment: [UInt8], beaconRound: UInt64 = 0)
    {
        self.id = id
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.seedCommitment = seedCommitment
        self.beaconRound = beaconRound
    }
}

/// A period's ticket table as frozen by its close: every person holding tickets, in the fixed order of
/// ticket ranges (``PersonID`` order), with tickets by source and whether they are excluded. Every
/// draw of the period uses this table, whatever changes after the close.
public struct RaffleTable: Hashable, Sendable {
    public struct Entry: Hashable, Sendable {
        public var person: PersonID
        public var tickets: TicketCounts
        public var excluded: Bool

        public init(person: PersonID, tickets: TicketCounts, excluded: Bool) {
            self.person = person
            self.tickets = tickets
            self.excluded = excluded
        }

        /// The entry's tickets; nil if they overflow.
        public var total: Int64? {
            var sum: Int64 = 0
            for i in 0..<4 {
                let (s, overflow) = sum.addingReportingOverflow(tickets[i])
                if overflow { return nil }
                sum = s
            }
            return sum
        }
    }

    public var entries: [Entry]

    public init(entries: [Entry]) { self.entries = entries }
}

/// A public randomness beacon's value for a round, as recorded in the log.
public struct RaffleBeacon: Hashable, Sendable {
    public var round: UInt64
    /// drand's `randomness` (SHA-256 of the round's signature), 32 bytes.
    public var value: [UInt8]

    public init(round: UInt64, value: [UInt8]) {
        self.round = round
        self.value = value
    }
}

/// A drawn winner with everything needed to recompute the draw.
public struct RaffleDraw: Hashable, Sendable, Codable {
    public var period: PeriodID
    /// The draw's index in the period's seed stream: 1 for the first winner, then 2, 3 … for extra
    /// winners and rerolls alike.
    public var number: UInt32
    /// The revealed server seed; SHA-256 of it equals the period's commitment.
    public var seed: [UInt8]
    public var totalTickets: Int64
    /// 0-based index of the winning ticket in the ordered ticket ranges.
    public var winningTicket: Int64
    public var winner: PersonID
    public var winnerTickets: Int64
    public var participants: UInt32
    /// Version 1: SHA-256 over the ordered (person, tickets) list the draw used. Version 2: the
    /// frozen table's digest (``RaffleDrawing/digest(of:)``).
    public var participantsDigest: [UInt8]
    /// The beacon round and value mixed into the seed; round 0 and an empty value for version 1 draws
    /// (made before beacons, with the seed alone).
    public var beaconRound: UInt64
    public var beacon: [UInt8]
    /// The draw this one replaces (a reroll), or 0 for an extra winner.
    public var replaces: UInt32
    /// Why the replaced winner was rerolled (empty for an extra winner).
    public var reason: String

    public init(
        period: PeriodID, number: UInt32, seed: [UInt8], totalTickets: Int64, winningTicket: Int64,
        winner: PersonID, winnerTickets: Int64, participants: UInt32, participantsDigest: [UInt8],
        beaconRound: UInt64 = 0, beacon: [UInt8] = [], replaces: UInt32 = 0, reason: String = ""
    ) {
        self.period = period
        self.number = number
        self.seed = seed
        self.totalTickets = totalTickets
        self.winningTicket = winningTicket
        self.winner = winner
        self.winnerTickets = winnerTickets
        self.participants = participants
        self.participantsDigest = participantsDigest
        self.beaconRound = beaconRound
        self.beacon = beacon
        self.replaces = replaces
        self.reason = reason
    }

    /// Whether this draw was made with a beacon (version 2) rather than the seed alone.
    public var usesBeacon: Bool { !beacon.isEmpty }
}
