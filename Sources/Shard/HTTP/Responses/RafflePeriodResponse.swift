public import Domain
import EventLog
public import Hummingbird

/// `GET /v1/guilds/{guild}/raffle/periods/{period}`: everything needed to recompute the period's draws
/// without Tally — its commitments, the frozen ticket table with its digest, the revealed server
/// seed, the beacon and the draws. `docs/raffle-verification.md` describes the fields and
/// `docs/verify_raffle.py` checks them.
public struct RafflePeriodResponse: ResponseEncodable, Sendable {
    public struct Beacon: Encodable, Sendable {
        public var chain: String
        public var chainHash: String
        public var genesis: Int64
        public var periodSeconds: Int64
        public var round: UInt64
        /// When the round is published (ms since 1970).
        public var publishedAt: Int64?
        /// The recorded value, hex; null until `record_beacon`.
        public var randomness: String?

        enum CodingKeys: String, CodingKey {
            case chain, genesis, round, randomness
            case chainHash = "chain_hash", periodSeconds = "period_seconds", publishedAt = "published_at"
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(chain, forKey: .chain)
            try c.encode(chainHash, forKey: .chainHash)
            try c.encode(genesis, forKey: .genesis)
            try c.encode(periodSeconds, forKey: .periodSeconds)
            try c.encode(round, forKey: .round)
            try c.encode(publishedAt, forKey: .publishedAt)
            try c.encode(randomness, forKey: .randomness)
        }
    }

    public struct Entry: Encodable, Sendable {
        public var person: String
        public var watchtime: Int64
        public var giftedSub: Int64
        public var shop: Int64
        public var admin: Int64
        public var excluded: Bool

        enum CodingKeys: String, CodingKey {
            case person, watchtime, shop, admin, excluded
            case giftedSub = "gifted_sub"
        }
    }

    public struct Draw: Encodable, Sendable {
        public var number: UInt32
        /// `tally-raffle-v2` (frozen table and beacon), or `tally-raffle-v1` for draws logged before.
        public var algorithm: String
        public var winner: String
        public var winningTicket: Int64
        public var totalTickets: Int64
        public var participants: UInt32
        /// The draw this one rerolled, or null for an extra winner.
        public var replaces: UInt32?
        public var reason: String

        enum CodingKeys: String, CodingKey {
            case number, algorithm, winner, participants, replaces, reason
            case winningTicket = "winning_ticket", totalTickets = "total_tickets"
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(number, forKey: .number)
            try c.encode(algorithm, forKey: .algorithm)
            try c.encode(winner, forKey: .winner)
            try c.encode(winningTicket, forKey: .winningTicket)
            try c.encode(totalTickets, forKey: .totalTickets)
            try c.encode(participants, forKey: .participants)
            try c.encode(replaces, forKey: .replaces)
            try c.encode(reason, forKey: .reason)
        }
    }

    /// The guild, as a string (snowflakes exceed what JSON numbers carry exactly).
    public var guild: String
    public var period: UInt32
    public var startsAt: Int64
    public var endsAt: Int64
    public var closed: Bool
    public var seedCommitment: String
    /// Revealed by the close; null while the period is open.
    public var serverSeed: String?
    public var beacon: Beacon
    /// The frozen table in ticket-range order; null until the close.
    public var table: [Entry]?
    public var tableDigest: String?
    public var draws: [Draw]

    enum CodingKeys: String, CodingKey {
        case guild, period, closed, beacon, table, draws
        case startsAt = "starts_at", endsAt = "ends_at", seedCommitment = "seed_commitment"
        case serverSeed = "server_seed", tableDigest = "table_digest"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(guild, forKey: .guild)
        try c.encode(period, forKey: .period)
        try c.encode(startsAt, forKey: .startsAt)
        try c.encode(endsAt, forKey: .endsAt)
        try c.encode(closed, forKey: .closed)
        try c.encode(seedCommitment, forKey: .seedCommitment)
        try c.encode(serverSeed, forKey: .serverSeed)
        try c.encode(beacon, forKey: .beacon)
        try c.encode(table, forKey: .table)
        try c.encode(tableDigest, forKey: .tableDigest)
        try c.encode(draws, forKey: .draws)
    }

    /// The published record of `period` in `state`; nil when the guild has no such period.
    public init?(state: GuildState, period id: PeriodID) {
        guard let period = state.raffle.periods[id] else { return nil }
        let hex = { (bytes: [UInt8]) in bytes.map { String($0, radix: 16).leftPadded(to: 2) }.joined() }
        let chain = DrandChain.mainnet
        let closed = state.raffle.isClosed(id)
        let table = state.raffle.tables[id]
        guild = String(state.guild.rawValue)
        self.period = id.rawValue
        startsAt = period.startsAt.rawValue
        endsAt = period.endsAt.rawValue
        self.closed = closed
        seedCommitment = hex(period.seedCommitment)
        serverSeed = closed ? state.raffle.revealedSeeds[id].map(hex) : nil
        beacon = Beacon(
            chain: chain.name, chainHash: chain.hash, genesis: chain.genesis, periodSeconds: chain.periodSeconds,
            round: period.beaconRound, publishedAt: chain.time(of: period.beaconRound)?.rawValue,
            randomness: state.raffle.beacons[id].map { hex($0.value) })
        self.table = table.map { t in
            t.entries.map { e in
                Entry(
                    person: e.person.description, watchtime: e.tickets[0], giftedSub: e.tickets[1], shop: e.tickets[2],
                    admin: e.tickets[3], excluded: e.excluded)
            }
        }
        tableDigest = table.map { hex(RaffleDrawing.digest(of: $0)) }
        draws = (state.raffle.history[id] ?? []).map { d in
            Draw(
                number: d.number, algorithm: d.usesBeacon ? "tally-raffle-v2" : "tally-raffle-v1",
                winner: d.winner.description, winningTicket: d.winningTicket, totalTickets: d.totalTickets,
                participants: d.participants, replaces: d.replaces == 0 ? nil : d.replaces, reason: d.reason)
        }
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
