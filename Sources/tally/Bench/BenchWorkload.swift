import Domain
import EventLog
import Foundation

/// The benchmark's generated community traffic: 10,000 guilds with Zipf-distributed activity (the
/// busiest about 10% of events), about 300,000 users with Discord snowflake ids, millisecond
/// timestamps, and event types in the proportions a live community produces.
struct BenchWorkload {
    enum Kind: UInt16, CaseIterable {
        case watchTick = 1, pointsEarned, chatActivity, ticketsGranted, accountLinked, pointsSpent

        var name: String {
            switch self {
            case .watchTick: "watch_tick"
            case .pointsEarned: "points_earned"
            case .chatActivity: "chat_activity"
            case .ticketsGranted: "tickets_granted"
            case .accountLinked: "account_linked"
            case .pointsSpent: "points_spent"
            }
        }
    }

    /// One generated event, with its real fields.
    struct Event {
        var guild: GuildID
        var sequence: UInt64
        var timestamp: Timestamp
        var kind: Kind
        var user: UInt64
        var amount: Int64
        var minutes: Int64
        var kickUsername: String
        var kickUserID: UInt64
        var reason: String
        var messageID: String
    }

    let guilds: [GuildID]
    /// Cumulative Zipf weights for drawing a guild rank.
    private let cumulative: [Double]
    /// Per guild, the range of `users` its members occupy.
    private let members: [Range<Int>]
    let users: [UInt64]
    let usernames: [String]
    private var sequences: [UInt64]
    private var rng: SplitMix64
    private var clock: Int64
    /// Each event's time is 0 to `clockStep - 1` ms after the previous one's. Default 4 (a burst of
    /// traffic); `tally bench memory --days` spreads the events over days instead.
    var clockStep: UInt64 = 4

    static let discordEpoch: Int64 = 1_420_070_400_000

    init(guildCount: Int = 10_000, userCount: Int = 300_000, zipf: Double = 1.0, seed: UInt64 = 42) {
        rng = SplitMix64(seed: seed)
        clock = 1_796_083_200_000  // 2026-12-01T00:00:00Z
        func snowflake(_ ms: Int64, _ rng: inout SplitMix64) -> UInt64 {
            UInt64(ms - BenchWorkload.discordEpoch) << 22 | (rng.next() & 0x3F_FFFF)
        }
        var guilds: [GuildID] = []
        for _ in 0..<guildCount {
            guilds.append(GuildID(snowflake(1_500_000_000_000 + Int64(rng.next() % 250_000_000_000), &rng)))
        }
        self.guilds = guilds
        var weights = (1...guildCount).map { 1.0 / pow(Double($0), zipf) }
        let total = weights.reduce(0, +)
        var running = 0.0
        for i in weights.indices {
            running += weights[i] / total
            weights[i] = running
        }
        cumulative = weights
        var users: [UInt64] = []
        var usernames: [String] = []
        let syllables = ["ka", "zu", "mi", "ro", "te", "na", "shi", "vo", "lex", "gg", "qt", "xo", "pk", "ly"]
        for i in 0..<userCount {
            users.append(snowflake(1_450_000_000_000 + Int64(rng.next() % 330_000_000_000), &rng))
            var name = ""
            for _ in 0..<(2 + Int(rng.next() % 3)) { name += syllables[Int(rng.next() % UInt64(syllables.count))] }
            usernames.append(name + (i % 3 == 0 ? String(rng.next() % 1000) : ""))
        }
        self.users = users
        self.usernames = usernames
        // Each guild's members: a slice of the user pool sized by its activity (at least 8 people).
        var members: [Range<Int>] = []
        var previous = 0.0
        for i in 0..<guildCount {
            let share = cumulative[i] - previous
            previous = cumulative[i]
            let size = min(userCount, max(8, Int(share * Double(userCount) * 1.9)))
            let start = Int(rng.next() % UInt64(userCount - size + 1))
            members.append(start..<(start + size))
        }
        self.members = members
        sequences = [UInt64](repeating: 0, count: guildCount)
    }

    /// The guild of a given activity rank (0 = busiest).
    func guild(rank: Int) -> GuildID { guilds[rank] }

    mutating func next() -> Event {
        let u = Double(rng.next() >> 11) / Double(1 << 53)
        var lo = 0
        var hi = cumulative.count - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if cumulative[mid] < u { lo = mid + 1 } else { hi = mid }
        }
        let rank = lo
        sequences[rank] += 1
        clock += Int64(rng.next() % clockStep)
        let range = members[rank]
        let member = range.lowerBound + Int(rng.next() % UInt64(range.count))
        let roll = rng.next() % 100
        let kind: Kind =
            roll < 70
            ? .watchTick
            : roll < 85
                ? .pointsEarned
                : roll < 93
                    ? .chatActivity
                    : roll < 98 ? .ticketsGranted : roll < 99 ? .accountLinked : .pointsSpent
        var event = Event(
            guild: guilds[rank], sequence: sequences[rank], timestamp: Timestamp(milliseconds: clock), kind: kind,
            user: users[member], amount: 0, minutes: 0, kickUsername: "", kickUserID: 0, reason: "", messageID: "")
        switch kind {
        case .watchTick:
            event.minutes = 1
        case .pointsEarned:
            event.minutes = 5 * Int64(1 + rng.next() % 3)
            event.amount = event.minutes / 5 * (rng.next() % 4 == 0 ? 2 : 1)
            event.reason = "watchtime"
        case .chatActivity:
            event.kickUsername = usernames[member]
            event.kickUserID = 10_000_000 + UInt64(member)
            event.messageID = String(UInt64(clock) &* 1_000_003 ^ rng.next() % 1_000_000, radix: 36)
        case .ticketsGranted:
            event.amount = [10, 15, 5, 1][Int(rng.next() % 4)]
            event.reason = ["watchtime", "gifted_sub", "shop", "admin"][Int(rng.next() % 4)]
        case .accountLinked:
            event.kickUsername = usernames[member]
            event.kickUserID = 10_000_000 + UInt64(member)
        case .pointsSpent:
            event.amount = Int64(50 + rng.next() % 500)
            event.reason = "shop item \(1 + rng.next() % 20)"
        }
        return event
    }

    /// The event as a domain event, encoded with the domain codec as its log record. Each event
    /// is its own command, so it carries an idempotency key as live traffic does.
    static func domainEvent(_ e: Event) -> DomainEvent {
        let person = PersonID.discord(UserID(e.user))
        switch e.kind {
        case .watchTick: return .watchTimeAccrued(credited: [person], minutes: e.minutes)
        case .pointsEarned:
            return .pointsEarned(
                person, points: e.amount, minutesConverted: e.minutes, subscriber: e.amount > e.minutes / 5)
        case .chatActivity: return .chatterSeen(KickUserID(e.kickUserID), username: e.kickUsername)
        case .ticketsGranted:
            return .ticketsGranted(
                person, amount: e.amount, source: TicketSource(name: e.reason) ?? .admin, reason: e.reason)
        case .accountLinked:
            return .accountLinked(UserID(e.user), KickUserID(e.kickUserID), kickUsername: e.kickUsername)
        case .pointsSpent: return .pointsSpent(person, amount: e.amount, reason: e.reason)
        }
    }

    static func record(_ e: Event) -> Record {
        EventCodec.record(domainEvent(e), guild: e.guild, sequence: e.sequence, timestamp: e.timestamp, key: key(e))
    }

    /// The idempotency key of the command behind the event: the Kick message id for chat, else a
    /// client key.
    static func key(_ e: Event) -> String {
        e.kind == .chatActivity ? e.messageID : String(e.sequence, radix: 36)
    }

    /// Decodes a record's payload into its domain event (what every projection does), returning a
    /// value that depends on it.
    static func decodePayload(type: EventTypeTag, version: UInt8, _ payload: UnsafeRawBufferPointer) -> UInt64 {
        guard let decoded = try? EventCodec.decode(type: type, version: version, payload: payload) else { return 0 }
        return UInt64(decoded.commandEvents) &+ UInt64(decoded.key?.utf8.count ?? 0)
    }

    /// The same event as one line of JSON, the way the old bot's exports looked (ids as strings).
    static func jsonLine(_ e: Event) -> String {
        var s =
            "{\"guild_id\":\"\(e.guild.rawValue)\",\"seq\":\(e.sequence),\"ts\":\(e.timestamp.rawValue),\"key\":\"\(key(e))\","
        s += "\"type\":\"\(e.kind.name)\",\"user_id\":\"\(e.user)\""
        switch e.kind {
        case .watchTick: s += ",\"minutes\":\(e.minutes)"
        case .pointsEarned: s += ",\"amount\":\(e.amount),\"minutes\":\(e.minutes),\"reason\":\"\(e.reason)\""
        case .chatActivity: s += ",\"kick_username\":\"\(e.kickUsername)\",\"message_id\":\"\(e.messageID)\""
        case .ticketsGranted, .pointsSpent: s += ",\"amount\":\(e.amount),\"reason\":\"\(e.reason)\""
        case .accountLinked: s += ",\"kick_username\":\"\(e.kickUsername)\",\"kick_user_id\":\(e.kickUserID)"
        }
        return s + "}\n"
    }
}
