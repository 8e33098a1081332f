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
    /// Tickets in the current raffle period, by ``TicketSource`` raw value.
    public var tickets: [Int64] = [0, 0, 0, 0]
    public var excluded = false

    public init() {}

    public var totalTickets: Int64 { tickets[0] + tickets[1] + tickets[2] + tickets[3] }

    public func tickets(from source: TicketSource) -> Int64 { tickets[Int(source.rawValue)] }

    var isEmpty: Bool { self == PersonState() }
}

/// What the guild knows of a Kick chatter.
public struct ChatterState: Hashable, Sendable, Codable {
    public var username: String
    /// The Discord user this chatter is linked to, if any.
    public var linkedUser: UserID?
    public var subscriberUntil: Timestamp?

    public init(username: String) { self.username = username }
}
