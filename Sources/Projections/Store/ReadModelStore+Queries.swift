public import Domain
public import EventLog
import Foundation
import GRDB

/// The leaderboards a guild has.
public enum LeaderboardKind: String, Sendable, CaseIterable {
    case points, watchtime, tickets

    var column: String {
        switch self {
        case .points: "score"
        case .watchtime: "minutes"
        case .tickets: "tickets"
        }
    }
}

public struct LeaderboardEntry: Sendable, Hashable, Codable {
    public var rank: Int
    public var person: String
    public var name: String
    public var value: Int64
}

/// One person as the read models show them.
public struct PersonSummary: Sendable, Hashable, Codable {
    public var person: String
    public var name: String
    public var minutes: Int64
    public var points: Int64
    public var pointsEarned: Int64
    public var tickets: [String: Int64]
    public var totalTickets: Int64
    public var pointsRank: Int
    public var watchtimeRank: Int
    /// The chance of winning the next draw, from tickets / all eligible tickets (0 when excluded).
    public var winChance: Double
    public var excluded: Bool

    enum CodingKeys: String, CodingKey {
        case person, name, minutes, points, tickets, excluded
        case pointsEarned = "points_earned", totalTickets = "total_tickets", pointsRank = "points_rank"
        case watchtimeRank = "watchtime_rank", winChance = "win_chance"
    }
}

/// A guild's raffle as the read models show it.
public struct RaffleSummary: Sendable, Hashable, Codable {
    public struct Period: Sendable, Hashable, Codable {
        public var id: Int64
        public var startsAt: Int64
        public var endsAt: Int64
        public var open: Bool
        public var seedCommitment: String
        /// Revealed when the period closes; null before.
        public var seed: String?
        /// The drand round the draws mix in (0 for periods opened before beacons, until they close).
        public var beaconRound: Int64
        /// The round's recorded value; null before `record_beacon`.
        public var beacon: String?

        enum CodingKeys: String, CodingKey {
            case id, open, seed, beacon
            case startsAt = "starts_at", endsAt = "ends_at", seedCommitment = "seed_commitment"
            case beaconRound = "beacon_round"
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(id, forKey: .id)
            try c.encode(startsAt, forKey: .startsAt)
            try c.encode(endsAt, forKey: .endsAt)
            try c.encode(open, forKey: .open)
            try c.encode(seedCommitment, forKey: .seedCommitment)
            try c.encode(seed, forKey: .seed)
            try c.encode(beaconRound, forKey: .beaconRound)
            try c.encode(beacon, forKey: .beacon)
        }
    }

    public struct Draw: Sendable, Hashable, Codable {
        public var period: Int64
        public var number: Int64
        public var winner: String
        public var winningTicket: Int64
        public var totalTickets: Int64
        public var winnerTickets: Int64
        public var participants: Int64
        public var participantsDigest: String
        public var seed: String
        /// The beacon mixed into the seed (empty for draws made before beacons).
        public var beacon: String
        /// The draw this one rerolled, or null for an extra winner.
        public var replaces: Int64?
        public var reason: String

        enum CodingKeys: String, CodingKey {
            case period, number, winner, participants, seed, beacon, replaces, reason
            case winningTicket = "winning_ticket", totalTickets = "total_tickets", winnerTickets = "winner_tickets"
            case participantsDigest = "participants_digest"
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(period, forKey: .period)
            try c.encode(number, forKey: .number)
            try c.encode(winner, forKey: .winner)
            try c.encode(winningTicket, forKey: .winningTicket)
            try c.encode(totalTickets, forKey: .totalTickets)
            try c.encode(winnerTickets, forKey: .winnerTickets)
            try c.encode(participants, forKey: .participants)
            try c.encode(participantsDigest, forKey: .participantsDigest)
            try c.encode(seed, forKey: .seed)
            try c.encode(beacon, forKey: .beacon)
            try c.encode(replaces, forKey: .replaces)
            try c.encode(reason, forKey: .reason)
        }
    }

    public var current: Period?
    public var totalTickets: Int64
    public var participants: Int64
    public var periods: [Period]
    public var draws: [Draw]

    enum CodingKeys: String, CodingKey {
        case current, participants, periods, draws
        case totalTickets = "total_tickets"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(current, forKey: .current)
        try c.encode(totalTickets, forKey: .totalTickets)
        try c.encode(participants, forKey: .participants)
        try c.encode(periods, forKey: .periods)
        try c.encode(draws, forKey: .draws)
    }
}

extension ReadModelStore {
    /// Whether the read models know the guild (it has at least one event).
    public func knowsGuild(_ guild: GuildID) throws -> Bool {
        try read { db in
            try Bool.fetchOne(db, sql: "SELECT 1 FROM guilds WHERE guild = ?", arguments: [guild.sql]) ?? false
        }
    }

    /// The top `limit` people of a leaderboard, ties sharing a rank.
    public func leaderboard(_ kind: LeaderboardKind, guild: GuildID, limit: Int) throws -> [LeaderboardEntry] {
        try read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT person, name, \(kind.column) AS value,
                           RANK() OVER (ORDER BY \(kind.column) DESC) AS rank
                    FROM people WHERE guild = ? AND \(kind.column) > 0
                    ORDER BY \(kind.column) DESC, person LIMIT ?
                    """, arguments: [guild.sql, limit]
            ).map { LeaderboardEntry(rank: $0["rank"], person: $0["person"], name: $0["name"], value: $0["value"]) }
        }
    }

    /// One person's totals, ranks and win chance; nil if they have no row in the guild.
    public func person(_ person: PersonID, guild: GuildID) throws -> PersonSummary? {
        try read { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT * FROM people WHERE guild = ? AND person = ?",
                    arguments: [guild.sql, person.description])
            else { return nil }
            func rank(_ column: String, _ value: Int64) throws -> Int {
                1
                    + (try Int.fetchOne(
                        db, sql: "SELECT COUNT(*) FROM people WHERE guild = ? AND \(column) > ?",
                        arguments: [guild.sql, value]) ?? 0)
            }
            let eligible =
                try Int64.fetchOne(
                    db, sql: "SELECT COALESCE(SUM(tickets), 0) FROM people WHERE guild = ? AND excluded = 0",
                    arguments: [guild.sql]) ?? 0
            let tickets: Int64 = row["tickets"]
            let excluded: Bool = row["excluded"]
            return PersonSummary(
                person: row["person"], name: row["name"], minutes: row["minutes"], points: row["points"],
                pointsEarned: row["points_earned"],
                tickets: [
                    "watchtime": row["tickets_watchtime"], "gifted_sub": row["tickets_gifted_sub"],
                    "shop": row["tickets_shop"], "admin": row["tickets_admin"],
                ],
                totalTickets: tickets, pointsRank: try rank("score", row["score"]),
                watchtimeRank: try rank("minutes", row["minutes"]),
                winChance: excluded || eligible == 0 ? 0 : Double(tickets) / Double(eligible), excluded: excluded)
        }
    }

    /// The guild's raffle: the current period, its ticket totals, every period and draw.
    public func raffle(guild: GuildID) throws -> RaffleSummary {
        try read { db in
            let periods = try Row.fetchAll(
                db, sql: "SELECT * FROM raffle_periods WHERE guild = ? ORDER BY period", arguments: [guild.sql]
            ).map { row -> RaffleSummary.Period in
                let commitment: [UInt8] = Array(row["commitment"] as Data)
                let seed: [UInt8]? = (row["seed"] as Data?).map { Array($0) }
                return RaffleSummary.Period(
                    id: row["period"], startsAt: row["starts_at"], endsAt: row["ends_at"], open: row["open"],
                    seedCommitment: hex(commitment), seed: seed.map(hex), beaconRound: row["beacon_round"],
                    beacon: (row["beacon"] as Data?).map { hex(Array($0)) })
            }
            let draws = try Row.fetchAll(
                db, sql: "SELECT * FROM raffle_draws WHERE guild = ? ORDER BY period, number", arguments: [guild.sql]
            ).map { row in
                RaffleSummary.Draw(
                    period: row["period"], number: row["number"], winner: row["winner"],
                    winningTicket: row["winning_ticket"],
                    totalTickets: row["total_tickets"], winnerTickets: row["winner_tickets"],
                    participants: row["participants"],
                    participantsDigest: hex(Array(row["participants_digest"] as Data)),
                    seed: hex(Array(row["seed"] as Data)), beacon: hex(Array(row["beacon"] as Data)),
                    replaces: row["replaces"], reason: row["reason"])
            }
            let totals = try Row.fetchOne(
                db,
                sql:
                    "SELECT COALESCE(SUM(tickets), 0) AS t, COUNT(*) AS n FROM people WHERE guild = ? AND tickets > 0 AND excluded = 0",
                arguments: [guild.sql])
            return RaffleSummary(
                current: periods.last(where: \.open), totalTickets: totals?["t"] ?? 0, participants: totals?["n"] ?? 0,
                periods: periods, draws: draws)
        }
    }

    /// The roles each linked person should hold, as (user, role) pairs.
    public func roleTargets(guild: GuildID) throws -> [(user: UInt64, role: UInt64)] {
        try read { db in
            try Row.fetchAll(
                db, sql: "SELECT user, role FROM role_targets WHERE guild = ? ORDER BY user, role",
                arguments: [guild.sql]
            )
            .map { (UInt64(bitPattern: $0["user"]), UInt64(bitPattern: $0["role"])) }
        }
    }

    /// The guild's links as (Discord user, Kick user, Kick username).
    public func links(guild: GuildID) throws -> [(user: UInt64, kickUser: UInt64, kickUsername: String)] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM links WHERE guild = ? ORDER BY user", arguments: [guild.sql])
                .map { (UInt64(bitPattern: $0["user"]), UInt64(bitPattern: $0["kick_user"]), $0["kick_username"]) }
        }
    }

    /// The guild's shop orders, optionally only those with `status`.
    public func orders(guild: GuildID, status: OrderStatus? = nil) throws -> [(
        order: Int64, person: String, item: Int64, status: String
    )] {
        try read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT * FROM shop_orders WHERE guild = ? AND (? IS NULL OR status = ?) ORDER BY order_id",
                arguments: [guild.sql, status?.description, status?.description]
            ).map { ($0["order_id"], $0["person"], $0["item"], $0["status"]) }
        }
    }

    /// Every row of every table, sorted: two databases with equal dumps hold equal read models.
    public func dump() throws -> [String] {
        try read { db in
            var lines: [String] = []
            for table in [
                "checkpoint", "people", "guilds", "raffle_periods", "raffle_draws", "role_thresholds", "role_targets",
                "role_outbox", "links", "shop_items", "shop_orders",
            ] {
                for row in try Row.fetchAll(db, sql: "SELECT * FROM \(table)") {
                    lines.append(table + " " + row.description)
                }
            }
            return lines.sorted()
        }
    }
}

extension GuildID {
    var sql: Int64 { Int64(bitPattern: rawValue) }
}

func hex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out = [UInt8]()
    out.reserveCapacity(bytes.count * 2)
    for b in bytes {
        out.append(digits[Int(b >> 4)])
        out.append(digits[Int(b & 15)])
    }
    return String(decoding: out, as: UTF8.self)
}
