public import EventLog

/// Where an imported fact came from in the old bot's database: a table and the key of one row.
///
/// Every import event carries the rows it came from; a guild remembers the rows it imported (as
/// 64-bit hashes of `table#row`), so importing the same database again appends nothing.
public struct LegacyRow: Hashable, Sendable, CustomStringConvertible, Comparable {
    /// The old table, e.g. `user_points`.
    public var table: String
    /// The row's primary key as text: an id (`42`), or the columns of a composite key joined by `/`.
    public var row: String

    public init(_ table: String, _ row: String) {
        self.table = table
        self.row = row
    }

    public var description: String { "\(table)#\(row)" }

    /// The hash the guild remembers the row by.
    public var key: UInt64 {
        var h: UInt64 = 0x243F_6A88_85A3_08D3
        for byte in description.utf8 { h = StableHash.mix64(h ^ UInt64(byte)) }
        return StableHash.mix64(h ^ UInt64(description.utf8.count))
    }

    public static func < (a: LegacyRow, b: LegacyRow) -> Bool { (a.table, a.row) < (b.table, b.row) }
}

/// A person as the old bot knew them, with what they had: the import event of one person.
public struct LegacyPerson: Hashable, Sendable {
    /// `.discord(user)` for a linked person, `.kickName(name)` for an unlinked chatter.
    public var person: PersonID
    /// The Kick name a linked person is linked under in this guild (lower-case; empty when unlinked).
    public var kickName: String
    public var minutes: Int64
    /// Minutes the old ledger had not converted to points yet.
    public var unconvertedMinutes: Int64
    /// The balance the old bot showed.
    public var points: Int64
    public var pointsEarned: Int64
    public var pointsSpent: Int64
    /// Watch minutes counted toward the open period's tickets (whole hours already paid).
    public var periodMinutes: Int64
    public var sources: [LegacyRow]

    public init(
        person: PersonID, kickName: String = "", minutes: Int64 = 0, unconvertedMinutes: Int64 = 0, points: Int64 = 0,
        pointsEarned: Int64 = 0, pointsSpent: Int64 = 0, periodMinutes: Int64 = 0, sources: [LegacyRow]
    ) {
        self.person = person
        self.kickName = kickName
        self.minutes = minutes
        self.unconvertedMinutes = unconvertedMinutes
        self.points = points
        self.pointsEarned = pointsEarned
        self.pointsSpent = pointsSpent
        self.periodMinutes = periodMinutes
        self.sources = sources
    }
}

/// A watch-time role threshold the old bot kept by role *name*: it waits for an admin to map it to
/// a Discord role id (`/roles set`), which replaces it with a ``RoleThreshold``.
public struct LegacyRoleThreshold: Hashable, Sendable {
    public var name: String
    public var minutes: Int64
    public var position: Int32
    public var enabled: Bool
    public var source: LegacyRow

    public init(name: String, minutes: Int64, position: Int32, enabled: Bool, source: LegacyRow) {
        self.name = name
        self.minutes = minutes
        self.position = position
        self.enabled = enabled
        self.source = source
    }
}

/// A raffle period the old bot ended, with its draws: kept as history.
public struct LegacyPeriod: Hashable, Sendable {
    public var source: LegacyRow
    /// The old period number (or its row id when it had none).
    public var number: Int64
    public var startsAt: Timestamp
    public var endsAt: Timestamp
    public var totalTickets: Int64
    /// The old SHA-256 commitment to the server seed (hex), as stored.
    public var seedCommitment: String
    public var draws: [LegacyDraw]

    public init(
        source: LegacyRow, number: Int64, startsAt: Timestamp, endsAt: Timestamp, totalTickets: Int64,
        seedCommitment: String, draws: [LegacyDraw]
    ) {
        self.source = source
        self.number = number
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.totalTickets = totalTickets
        self.seedCommitment = seedCommitment
        self.draws = draws
    }
}

/// One draw of an ended old period, and whether the old algorithm reproduces it.
public struct LegacyDraw: Hashable, Sendable {
    public var source: LegacyRow
    public var winner: UserID
    public var winnerKickName: String
    /// 1-based, as the old bot numbered tickets.
    public var winningTicket: Int64
    public var totalTickets: Int64
    public var participants: Int64
    public var serverSeed: String
    public var clientSeed: String
    public var nonce: String
    public var drawnAt: Timestamp
    /// `verified`, `mismatch: …` or `unverifiable: …` (see the importer's draw check).
    public var verification: String

    public init(
        source: LegacyRow, winner: UserID, winnerKickName: String, winningTicket: Int64, totalTickets: Int64,
        participants: Int64, serverSeed: String, clientSeed: String, nonce: String, drawnAt: Timestamp,
        verification: String
    ) {
        self.source = source
        self.winner = winner
        self.winnerKickName = winnerKickName
        self.winningTicket = winningTicket
        self.totalTickets = totalTickets
        self.participants = participants
        self.serverSeed = serverSeed
        self.clientSeed = clientSeed
        self.nonce = nonce
        self.drawnAt = drawnAt
        self.verification = verification
    }
}

/// A shop order the old bot took, as it stands (its points already moved there).
public struct LegacyOrder: Hashable, Sendable {
    public var order: Order
    public var placedAt: Timestamp
    public var source: LegacyRow

    public init(order: Order, placedAt: Timestamp, source: LegacyRow) {
        self.order = order
        self.placedAt = placedAt
        self.source = source
    }
}

/// What a guild holds of imports: the rows imported, provisional links and names, role names to map.
public struct LegacyState: Hashable, Sendable {
    /// Hashes of every imported row (``LegacyRow/key``).
    public internal(set) var importedRows: Set<UInt64> = []
    /// Events appended by imports (to tell native history from imported).
    public internal(set) var importedEvents: UInt64 = 0
    /// Linked people imported with a Kick name but no Kick id yet.
    public internal(set) var links: [UserID: String] = [:]
    /// The same, by name.
    public internal(set) var linkedNames: [String: UserID] = [:]
    /// Thresholds waiting for `/roles set`, by name.
    public internal(set) var roles: [String: LegacyRoleThreshold] = [:]
    /// Ended old periods imported as history.
    public internal(set) var periods: Int = 0

    public init() {}

    /// Whether `name` (lower-case) still waits for its Kick id: a provisional person or a link.
    public func isPending(_ name: String, in people: PersonTable) -> Bool {
        linkedNames[name] != nil || people[.kickName(name)] != nil
    }
}
