/// The old bot's rows that one import reads, grouped by guild (see `legacy-schema.md`).
///
/// Times are milliseconds since 1970 (the old bot's naive timestamps, UTC in practice). Ledger tables
/// are read summed per person by the database (``rowCount`` still counts their rows), the rest row by row.
public struct LegacyData: Sendable {
    public var guilds: [Int64: LegacyGuildData] = [:]
    /// `bot_settings` rows with no guild: defaults every guild's own rows override.
    public var globalSettings: [LegacySetting] = []
    /// `watchtime_roles` rows with no guild.
    public var globalRoles: [LegacyRole] = []
    /// Rows read per table (ledger rows counted, though read as sums).
    public var rowCount: [String: Int] = [:]

    public init() {}

    public var totalRows: Int { rowCount.values.reduce(0, +) }

    subscript(guild: Int64) -> LegacyGuildData {
        get { guilds[guild] ?? LegacyGuildData() }
        // In place: a get-then-set would copy the guild's arrays on every appended row.
        _modify { yield &guilds[guild, default: LegacyGuildData()] }
    }
}

/// One guild's rows.
public struct LegacyGuildData: Sendable {
    public var links: [LegacyLink] = []
    public var watchtime: [LegacyWatchtime] = []
    public var points: [LegacyUserPoints] = []
    /// `points_watchtime_converted` summed per Kick username.
    public var ledger: [String: LegacyLedger] = [:]
    public var settings: [LegacySetting] = []
    public var roles: [LegacyRole] = []
    public var items: [LegacyItem] = []
    public var sales: [LegacySale] = []
    public var periods: [LegacyPeriodRow] = []
    public var tickets: [LegacyTicketRow] = []
    /// `raffle_ticket_log` summed per (period, Discord id).
    public var ticketLog: [LegacyPeriodPerson: LegacyLedger] = [:]
    /// `raffle_watchtime_converted` summed per (period, lower-case Kick name).
    public var ticketConversions: [LegacyPeriodName: LegacyLedger] = [:]
    public var gifts: [LegacyGift] = []
    public var draws: [LegacyDrawRow] = []
    public var exclusions: [LegacyExclusion] = []

    public init() {}
}

public struct LegacyLink: Sendable, Hashable {
    public var discordID: Int64
    public var kickName: String
    public var platform: String
    public var linkedAt: Int64?
    /// The row's key as `links` spells it: `discord_id/discord_server_id/platform`.
    public var rowKey: String
}

public struct LegacyWatchtime: Sendable, Hashable {
    public var username: String
    public var minutes: Int64
    public var lastActive: Int64?
}

public struct LegacyUserPoints: Sendable, Hashable {
    public var id: Int64
    public var kickUsername: String
    public var discordID: Int64?
    public var points: Int64
    public var totalEarned: Int64
    public var totalSpent: Int64
}

/// A ledger summed: the rows, and the sums of their two amounts.
public struct LegacyLedger: Sendable, Hashable {
    public var rows: Int64
    /// Minutes converted (or ticket change, for the ticket log).
    public var first: Int64
    /// Points or tickets awarded (0 for the ticket log).
    public var second: Int64
}

public struct LegacyPeriodPerson: Sendable, Hashable {
    public var period: Int64
    public var discordID: Int64
}

public struct LegacyPeriodName: Sendable, Hashable {
    public var period: Int64
    public var kickName: String
}

public struct LegacySetting: Sendable, Hashable {
    /// `point_settings` or `bot_settings`.
    public var table: String
    /// The row's key: the `bot_settings` id, or `key/discord_server_id` for `point_settings`.
    public var rowKey: String
    public var key: String
    public var value: String?
}

public struct LegacyRole: Sendable, Hashable {
    public var id: Int64
    public var name: String
    public var minutes: Int64
    public var displayOrder: Int64
    public var enabled: Bool
}

public struct LegacyItem: Sendable, Hashable {
    public var id: Int64
    public var name: String
    public var price: Int64
    public var stock: Int64
    public var active: Bool
    public var perUserLimit: Int64
    public var limitWindowSeconds: Int64
    public var requirementTitle: String?
    public var itemType: String
    public var raffleTicketAmount: Int64?
}

public struct LegacySale: Sendable, Hashable {
    public var id: Int64
    public var itemID: Int64?
    public var kickUsername: String?
    public var discordID: Int64?
    public var pricePaid: Int64
    public var quantity: Int64
    public var status: String
    public var purchasedAt: Int64?
    public var requirementInput: String?
}

public struct LegacyPeriodRow: Sendable, Hashable {
    public var id: Int64
    public var startsAt: Int64
    public var endsAt: Int64
    public var status: String
    public var totalTickets: Int64
    public var number: Int64?
    public var serverSeed: String?
    public var commitment: String?
}

public struct LegacyTicketRow: Sendable, Hashable {
    public var id: Int64
    public var period: Int64
    public var discordID: Int64
    public var kickName: String
    public var watchtime: Int64
    public var giftedSub: Int64
    public var shuffleWager: Int64
    public var bonus: Int64
    public var total: Int64
}

public struct LegacyGift: Sendable, Hashable {
    public var id: Int64
    public var period: Int64
    public var gifterKickName: String
    public var gifterDiscordID: Int64?
    public var subCount: Int64
    public var ticketsAwarded: Int64
}

public struct LegacyDrawRow: Sendable, Hashable {
    public var id: Int64
    public var period: Int64
    public var totalTickets: Int64
    public var participants: Int64
    public var winnerDiscordID: Int64
    public var winnerKickName: String
    public var winningTicket: Int64
    public var drawnAt: Int64?
    public var serverSeed: String?
    public var clientSeed: String?
    public var nonce: String?
    public var commitment: String?
}

public struct LegacyExclusion: Sendable, Hashable {
    public var id: Int64
    public var kickUsername: String?
    public var discordID: String?
    public var reason: String?
}
