public import EventLog
import Foundation
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
        let pinned = try Pinned(old: live, new: rebuilt)
        return try pinned.compare()
    }

    /// A comparison whose view of both databases is fixed when it is made: one read transaction over
    /// the old database and the new one (attached), held by a thread of its own, so the new one may go
    /// on changing (an online rebuild's new read models serve and follow the log once swapped in) while
    /// the comparison still sees both as they were when it was pinned.
    public final class Pinned: @unchecked Sendable {
        private let condition = NSCondition()
        // Guarded by `condition`:
        private var pinned = false
        private var result: Result<ReadModelDiff, any Error>?

        /// Opens `old` and `new`, starts a read transaction on both and returns once it has read
        /// from both (the view is fixed from then on); the comparison then runs on its thread.
        ///
        /// - Throws: ``ProjectionsError`` `storage` when the databases cannot be opened.
        public init(old: String, new: String) throws {
            let thread = Thread { [self] in run(old: old, new: new) }
            thread.name = "tally-diff"
            thread.start()
            condition.lock()
            while !pinned, result == nil { condition.wait() }
            let early = pinned ? nil : result
            condition.unlock()
            if case .failure(let error)? = early { throw error }
        }

        /// Waits for the comparison and returns it.
        ///
        /// - Throws: ``ProjectionsError`` `storage` when it failed.
        public func compare() throws -> ReadModelDiff {
            condition.lock()
            while result == nil { condition.wait() }
            let outcome = result!
            condition.unlock()
            return try outcome.get()
        }

        private func run(old: String, new: String) {
            let outcome = Result<ReadModelDiff, any Error> {
                do {
                    var configuration = Configuration()
                    configuration.busyMode = .timeout(10)
                    let queue = try DatabaseQueue(path: old, configuration: configuration)
                    defer { try? queue.close() }
                    return try queue.writeWithoutTransaction { db in
                        try db.execute(sql: "ATTACH DATABASE ? AS rebuilt", arguments: [new])
                        defer { try? db.execute(sql: "DETACH DATABASE rebuilt") }
                        var diff = ReadModelDiff()
                        try db.inTransaction(.deferred) {
                            // A deferred transaction takes its snapshot of each database at its first read.
                            _ = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM main.checkpoint")
                            _ = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM rebuilt.checkpoint")
                            condition.lock()
                            pinned = true
                            condition.broadcast()
                            condition.unlock()
                            diff = try ReadModelDiff.compare(db)
                            return .commit
                        }
                        return diff
                    }
                } catch {
                    throw ProjectionsError(.storage, "cannot compare read models", path: new, underlying: error)
                }
            }
            condition.lock()
            result = outcome
            condition.broadcast()
            condition.unlock()
        }
    }

    /// Compares `main` (the old read models) with `rebuilt` (the new ones) on one connection.
    static func compare(_ db: Database) throws -> ReadModelDiff {
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

    /// Only the changes of `guild`.
    public func only(_ guild: GuildID) -> ReadModelDiff {
        var out = ReadModelDiff()
        out.people = people.filter { $0.guild == guild }
        out.otherRows = otherRows.filter { $0.key == guild }
        return out
    }
}
