public import Domain
public import EventLog
public import Partition

/// One change to a person's points, tickets or minutes, with the totals after it. Encoded as the
/// audit API shows it (snake case; offset, time and person as numbers and text).
public struct AuditEntry: Sendable, Hashable, Encodable {
    public var offset: Offset
    public var timestamp: Timestamp
    public var person: PersonID
    public var event: String
    /// Who issued the command that made the change (``Domain/Actor``'s description).
    public var actor: String
    public var reason: String
    public var pointsDelta: Int64
    public var ticketsDelta: Int64
    public var minutesDelta: Int64
    /// Totals after this event.
    public var points: Int64
    public var tickets: Int64
    public var minutes: Int64

    enum CodingKeys: String, CodingKey {
        case offset, timestamp, person, event, actor, reason, points, tickets, minutes
        case pointsDelta = "points_delta", ticketsDelta = "tickets_delta", minutesDelta = "minutes_delta"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(offset.rawValue, forKey: .offset)
        try c.encode(timestamp.rawValue, forKey: .timestamp)
        try c.encode(person.description, forKey: .person)
        try c.encode(event, forKey: .event)
        try c.encode(actor, forKey: .actor)
        try c.encode(reason, forKey: .reason)
        try c.encode(pointsDelta, forKey: .pointsDelta)
        try c.encode(ticketsDelta, forKey: .ticketsDelta)
        try c.encode(minutesDelta, forKey: .minutesDelta)
        try c.encode(points, forKey: .points)
        try c.encode(tickets, forKey: .tickets)
        try c.encode(minutes, forKey: .minutes)
    }
}

extension GuildHistory {
    /// Every event that changed a person's points, tickets or minutes, with its reason and the
    /// running totals — "why does this user have 4,210 points?" answered event by event.
    ///
    /// - Parameter person: only this person (a chatter's history before linking is included for
    ///   the Discord user it merged into).
    /// - Complexity: replays the guild's history up to `until`; ``AuditIndex`` pages it without
    ///   replaying from the start each time.
    public func audit(guild: GuildID, person filter: PersonID? = nil, until: HistoryPoint? = nil) throws -> [AuditEntry]
    {
        var fold = AuditFold(guild: guild)
        var entries: [AuditEntry] = []
        try forEachEvent(guild: guild, until: until) { entries += fold.apply($0, person: filter) }
        return entries
    }
}

/// The fold behind the audit: a guild's state (without idempotency keys, which the audit never
/// needs) and the actor of the command being applied, turning each event into its audit entries.
public struct AuditFold: Sendable {
    private(set) var state: GuildState
    /// The actor is recorded on a command's first event; its other events share it.
    private var origin = Actor.unknown

    public init(guild: GuildID) {
        state = GuildState(guild: guild)
        state.remembersKeys = false
    }

    /// Applies `event` (the guild's events in offset order) and returns the entries it makes for
    /// `filter` (every person when nil).
    public mutating func apply(_ event: StoredEvent, person filter: PersonID?) -> [AuditEntry] {
        if event.key != nil { origin = event.origin }
        let touched = GuildHistory.people(of: event.event, in: state)
        guard !touched.isEmpty else {
            state.apply(event)
            return []
        }
        let before = touched.map { state.person($0) }
        state.apply(event)
        var entries: [AuditEntry] = []
        for (person, old) in zip(touched, before) {
            guard
                filter == nil || filter == person
                    || GuildHistory.merged(event.event, from: person, into: filter)
            else {
                continue
            }
            let new = state.person(person)
            let entry = AuditEntry(
                offset: event.offset, timestamp: event.timestamp, person: person,
                event: EventCodec.info(event.event).name, actor: origin.description,
                reason: GuildHistory.reason(of: event.event), pointsDelta: new.points - old.points,
                ticketsDelta: new.totalTickets - old.totalTickets, minutesDelta: new.minutes - old.minutes,
                points: new.points, tickets: new.totalTickets, minutes: new.minutes)
            if entry.pointsDelta != 0 || entry.ticketsDelta != 0 || entry.minutesDelta != 0
                || { if case .chatterEarningsMerged = event.event { true } else { false } }()
            {
                entries.append(entry)
            }
        }
        return entries
    }
}

extension GuildHistory {
    static func merged(_ event: DomainEvent, from person: PersonID, into filter: PersonID?) -> Bool {
        if case .chatterEarningsMerged(let chatter, let user, _, _, _) = event {
            return filter == .discord(user) && person == .kick(chatter)
        }
        return false
    }

    static func people(of event: DomainEvent, in state: GuildState) -> [PersonID] {
        switch event {
        case .watchTimeAccrued(let credited, _): credited
        case .pointsEarned(let p, _, _, _), .pointsSpent(let p, _, _), .pointsRefunded(let p, _, _),
            .pointsAdjusted(let p, _, _, _), .ticketsGranted(let p, _, _, _), .ticketsRemoved(let p, _, _, _):
            [p]
        case .itemPurchased(let order): [order.person]
        case .orderCancelled(let id, _, _, _, let to): to.map { [$0] } ?? state.orders[id].map { [$0.person] } ?? []
        case .chatterEarningsMerged(let chatter, let user, _, _, _): [.kick(chatter), .discord(user)]
        case .rafflePeriodOpened: state.people.filter { $0.value.totalTickets != 0 }.map(\.key).sorted()
        default: []
        }
    }

    static func reason(of event: DomainEvent) -> String {
        switch event {
        case .watchTimeAccrued(_, let minutes): "\(minutes) min watch time"
        case .pointsEarned(_, _, let minutes, let subscriber):
            "\(minutes) min converted\(subscriber ? " at the subscriber rate" : "")"
        case .pointsSpent(_, _, let reason), .pointsAdjusted(_, _, let reason, _), .ticketsGranted(_, _, _, let reason),
            .ticketsRemoved(_, _, _, let reason):
            reason
        case .pointsRefunded(_, _, let order): "refund of order \(order)"
        case .itemPurchased(let order): "order \(order.id): item \(order.item)"
        case .orderCancelled(let id, _, _, let reason, _): "order \(id) cancelled: \(reason)"
        case .chatterEarningsMerged(let chatter, let user, _, _, _):
            "kick:\(chatter.rawValue) linked to discord:\(user)"
        case .rafflePeriodOpened(let p): "period \(p.id) opened: tickets reset"
        default: ""
        }
    }
}
