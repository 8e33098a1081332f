public import EventLog

/// What one person has in one guild.
public struct PersonState: Hashable, Sendable, Codable {
    /// All watch-time minutes ever credited.
    public var minutes: Int64 = 0
    /// Credited minutes not yet converted to points (always < 5 after a tick's conversion).
    public var unconvertedMinutes: Int64 = 0
    /// The current balance; never negative.
    public var points: Int64 = 0
    /// Points earned from watch time, all time.
    public var pointsEarned: Int64 = 0
    /// Watch minutes credited during the current raffle period.
    public var periodMinutes: Int64 = 0
    /// Full hours of `periodMinutes` that watch-time tickets were paid for: the next tick pays every
    /// hour crossed since, whatever crossed it (a tick or a merge).
    public var periodHoursPaid: Int64 = 0
    /// Tickets in the current raffle period, by ``TicketSource`` raw value.
    public var tickets = TicketCounts()
    public var excluded = false

    public init() {}

    public var totalTickets: Int64 { tickets[0] + tickets[1] + tickets[2] + tickets[3] }

    public func tickets(from source: TicketSource) -> Int64 { tickets[Int(source.rawValue)] }

    var isEmpty: Bool { self == PersonState() }
}

/// Raffle tickets by source, stored inline (no heap allocation per person).
public struct TicketCounts: Hashable, Sendable, Codable {
    var watchtime: Int64 = 0
    var giftedSub: Int64 = 0
    var shop: Int64 = 0
    var admin: Int64 = 0

    public init() {}

    /// By ``TicketSource`` raw value (0 watch time, 1 gifted subs, 2 shop, 3 admin).
    public subscript(index: Int) -> Int64 {
        get {
            switch index {
            case 0: watchtime
            case 1: giftedSub
            case 2: shop
            default: admin
            }
        }
        set {
            switch index {
            case 0: watchtime = newValue
            case 1: giftedSub = newValue
            case 2: shop = newValue
            default: admin = newValue
            }
        }
    }
}

/// What the guild knows of a Kick chatter.
public struct ChatterState: Hashable, Sendable, Codable {
    public var username: String
    /// The Discord user this chatter is linked to, if any.
    public var linkedUser: UserID?
    public var subscriberUntil: Timestamp?

    public init(username: String) { self.username = username }
}
