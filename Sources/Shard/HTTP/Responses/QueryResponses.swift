public import Coordinator
public import Hummingbird
public import Projections

/// `GET /v1/guilds/{guild}/leaderboards/{kind}`.
public struct LeaderboardResponse: ResponseEncodable, Sendable {
    public var kind: String
    public var entries: [LeaderboardEntry]
}

/// `GET /v1/guilds/{guild}/people/{person}`: the person's row as the read models hold it.
public struct PersonResponse: ResponseEncodable, Sendable {
    public var summary: PersonSummary

    public func encode(to encoder: any Encoder) throws { try summary.encode(to: encoder) }
}

/// `GET /v1/guilds/{guild}/raffle`.
public struct RaffleResponse: ResponseEncodable, Sendable {
    public var summary: RaffleSummary

    public func encode(to encoder: any Encoder) throws { try summary.encode(to: encoder) }
}

/// `GET /v1/guilds/{guild}/raffle/draws/{draw}`: a draw with what verifies it, recomputed from the log.
public struct DrawResponse: ResponseEncodable, Sendable {
    public var period: UInt32
    public var number: UInt32
    public var winner: String
    public var winningTicket: Int64
    public var totalTickets: Int64
    public var participants: UInt32
    public var seed: String
    public var seedCommitment: String
    public var participantsDigest: String
    public var verified: Bool
    /// The drand round and value mixed into the seed (0 and empty for draws made before beacons).
    public var beaconRound: UInt64 = 0
    public var beacon: String = ""
    /// The draw this one rerolled (null for an extra winner), and why.
    public var replaces: UInt32?
    public var reason: String = ""

    enum CodingKeys: String, CodingKey {
        case period, number, winner, participants, seed, verified, beacon, replaces, reason
        case winningTicket = "winning_ticket", totalTickets = "total_tickets", seedCommitment = "seed_commitment"
        case participantsDigest = "participants_digest", beaconRound = "beacon_round"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(period, forKey: .period)
        try c.encode(number, forKey: .number)
        try c.encode(winner, forKey: .winner)
        try c.encode(winningTicket, forKey: .winningTicket)
        try c.encode(totalTickets, forKey: .totalTickets)
        try c.encode(participants, forKey: .participants)
        try c.encode(seed, forKey: .seed)
        try c.encode(seedCommitment, forKey: .seedCommitment)
        try c.encode(participantsDigest, forKey: .participantsDigest)
        try c.encode(verified, forKey: .verified)
        try c.encode(beaconRound, forKey: .beaconRound)
        try c.encode(beacon, forKey: .beacon)
        try c.encode(replaces, forKey: .replaces)
        try c.encode(reason, forKey: .reason)
    }
}

/// `GET /v1/guilds/{guild}/audit`: entries oldest first, and the cursor for the page before.
public struct AuditResponse: ResponseEncodable, Sendable {
    public var entries: [AuditEntry]
    /// Pass as `before` to get the next older page; absent on the oldest page.
    public var nextBefore: UInt64?

    enum CodingKeys: String, CodingKey {
        case entries
        case nextBefore = "next_before"
    }
}

/// `GET` and `PUT /v1/guilds/{guild}/settings`: every setting's effective value, and the names the
/// guild overrides.
public struct SettingsResponse: ResponseEncodable, Sendable {
    /// Whether the stream counts as live for watch time, and where that comes from.
    public struct Live: Encodable, Sendable {
        public var live: Bool
        /// `reported`, `unknown_assumed_live`, `unknown_assumed_offline`, `forced_on` or `forced_off`.
        public var source: String
    }

    public var settings: [String: Int64]
    public var overrides: [String]
    public var live: Live?
}

/// `GET /health`: `ok`, or `degraded` with every partition this process quarantined. Both are
/// 200: the process is alive and serves every other partition, so a liveness or readiness probe
/// must not restart it or take it out of service (that would take every healthy guild down too);
/// dashboards and alerts read `status` and `tally_partition_quarantined` (decision 6).
public struct HealthResponse: ResponseEncodable, Sendable {
    public var status: String
    /// The quarantined partitions, with the file and byte of their damage (absent when none).
    public var quarantined: [PartitionDamage]?
}
