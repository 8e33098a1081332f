public import EventLog
import GRDB

/// What a rebuild changed: the audit of a bugfix.
public struct ReadModelDiff: Sendable {
    /// One person whose row differs.
    public struct PersonChange: Sendable, Hashable {
        public var guild: GuildID
        public var person: String
        /// Column name → values before and after; nil where the row did not exist.
        public var changes: [String: Change]
    }

    public struct Change: Sendable, Hashable {
        public var before: Int64?
        public var after: Int64?

        /// after − before, treating a missing row as zero.
        public var delta: Int64 { (after ?? 0) - (before ?? 0) }
    }

    public var people: [PersonChange] = []
    /// Rows that differ in the other tables, per guild and table.
    public var otherRows: [GuildID: [String: Int]] = [:]

    public var changedGuilds: Set<GuildID> { Set(people.map(\.guild)).union(otherRows.keys) }
    public var isEmpty: Bool { people.isEmpty && otherRows.isEmpty }

    static let numericPeopleColumns = [
        "minutes", "points", "points_earned", "score", "tickets_watchtime", "tickets_gifted_sub", "tickets_shop",
        "tickets_admin", "tickets", "excluded",
    ]
    static let otherTables = [
        "guilds", "raffle_periods", "raffle_draws", "role_thresholds", "role_targets", "role_outbox", "links",
        "shop_items",
        "shop_orders",
    ]

    /// Compares two read-model databases.
    static func compare(live: String, rebuilt: String) throws -> ReadModelDiff {
        let queue = try DatabaseQueue(path: live)
        defer { try? queue.close() }
        return try queue.writeWithoutTransaction { db in
            try db.execute(sql: "ATTACH DATABASE ? AS rebuilt", arguments: [rebuilt])
            defer { try? db.execute(sql: "DETACH DATABASE rebuilt") }
            var diff = ReadModelDiff()
            let columns = numericPeopleColumns
            let differs = columns.map { "o.\($0) IS NOT n.\($0)" }.joined(separator: " OR ")
            let select = columns.map { "o.\($0) AS old_\($0), n.\($0) AS new_\($0)" }.joined(separator: ", ")
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT COALESCE(o.guild, n.guild) AS g, COALESCE(o.person, n.person) AS p, \(select)
                    FROM main.people o FULL OUTER JOIN rebuilt.people n ON o.guild = n.guild AND o.person = n.person
                    WHERE o.guild IS NULL OR n.guild IS NULL OR \(differs)
                    ORDER BY g, p
                    """)
            for row in rows {
                var changes: [String: Change] = [:]
                for c in columns {
                    let before: Int64? = row["old_\(c)"]
                    let after: Int64? = row["new_\(c)"]
                    if before != after { changes[c] = Change(before: before, after: after) }
                }
                diff.people.append(
                    PersonChange(
                        guild: GuildID(UInt64(bitPattern: row["g"] as Int64)), person: row["p"], changes: changes))
            }
            for table in otherTables {
                // A new projection version may add columns: compare the columns both have, and count
                // every row of a table that gained columns as changed (its new columns are new data).
                func columns(_ schema: String) throws -> [String] {
                    try Row.fetchAll(db, sql: "PRAGMA \(schema).table_info(\(table))").map { $0["name"] as String }
                }
                let old = try columns("main")
                let new = try columns("rebuilt")
                let common = new.filter(old.contains).joined(separator: ", ")
                let widened = Set(new) != Set(old)
                for (a, b) in [("main", "rebuilt"), ("rebuilt", "main")] {
                    let counts = try Row.fetchAll(
                        db,
                        sql: widened && a == "rebuilt"
                            ? "SELECT guild, COUNT(*) AS n FROM rebuilt.\(table) GROUP BY guild"
                            : """
                            SELECT guild, COUNT(*) AS n FROM (SELECT \(common) FROM \(a).\(table) EXCEPT SELECT \(common) FROM \(b).\(table)) GROUP BY guild
                            """)
                    for row in counts {
                        let guild = GuildID(UInt64(bitPattern: row["guild"] as Int64))
                        diff.otherRows[guild, default: [:]][table, default: 0] += row["n"] as Int
                    }
                }
            }
            return diff
        }
    }
}
