/// What an import did (or, with `--dry-run`, would do): per guild, and for the whole run. Written as
/// JSON by `--report FILE`.
public struct LegacyReport: Codable, Sendable {
    public var dsn: String
    public var dryRun: Bool
    public var merge: Bool
    /// Rows read per table.
    public var rows: [String: Int] = [:]
    public var readSeconds: Double = 0
    public var totalSeconds: Double = 0
    public var guilds: [LegacyGuildReport] = []

    public init(dsn: String, dryRun: Bool, merge: Bool) {
        self.dsn = dsn
        self.dryRun = dryRun
        self.merge = merge
    }

    /// Old rows per second over the whole run.
    public var rowsPerSecond: Double {
        totalSeconds > 0 ? Double(rows.values.reduce(0, +)) / totalSeconds : 0
    }
}

/// One guild's import.
public struct LegacyGuildReport: Codable, Sendable {
    /// A row left out, and why.
    public struct Skip: Codable, Sendable, Hashable {
        public var row: String
        public var reason: String
    }

    /// A row where the old bot's own figures disagree (kept as the old bot showed them).
    public struct Inconsistency: Codable, Sendable, Hashable {
        public var row: String
        public var detail: String
    }

    /// A role threshold imported by name: the guild maps it to a Discord role with `command`.
    public struct RoleMapping: Codable, Sendable, Hashable {
        public var name: String
        public var minutes: Int64
        public var enabled: Bool
        /// Linked people whose minutes reach it.
        public var eligible: Int
        public var command: String
    }

    /// An ended period's draw, checked with the old algorithm.
    public struct DrawCheck: Codable, Sendable, Hashable {
        public var period: Int64
        public var draw: String
        public var winner: String
        public var result: String
    }

    public var guild: String
    /// `imported`, `dry_run`, `nothing_new` (a rerun) or `failed`.
    public var status = "imported"
    public var error: String?
    public var people = 0
    public var linkedPeople = 0
    public var provisionalPeople = 0
    public var minutes: Int64 = 0
    public var points: Int64 = 0
    public var tickets: Int64 = 0
    public var links = 0
    public var settings = 0
    public var items = 0
    public var orders = 0
    /// The open period (0 or 1) plus ended ones.
    public var periods = 0
    public var events = 0
    public var rows = 0
    public var skipped: [Skip] = []
    public var inconsistencies: [Inconsistency] = []
    public var unknownSettings: [String] = []
    public var roles: [RoleMapping] = []
    public var draws: [DrawCheck] = []
    public var notes: [String] = []

    public init(guild: String) { self.guild = guild }
}
