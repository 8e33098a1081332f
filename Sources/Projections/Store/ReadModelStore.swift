import Domain
public import EventLog
import Foundation
package import GRDB

/// One partition's read models in SQLite: leaderboards, raffle, roles, links, shop, per guild.
///
/// Rows and the checkpoint (the offset after the last event they reflect) are written in one
/// transaction, so the database always describes exactly the log up to its checkpoint.
public final class ReadModelStore: Sendable {
    public let path: String
    let queue: DatabaseQueue
    public let catalog: ProjectionCatalog

    /// The path that makes a database in memory (time travel uses it).
    public static let inMemory = ":memory:"

    /// Opens (creating if needed) a read-model database.
    ///
    /// - Throws: ``ProjectionsError`` with code `versionMismatch` if the database was built by
    ///   other projection versions than `catalog` (rebuild it), or `storage`.
    public init(path: String, catalog: ProjectionCatalog = .current, requireCurrentVersions: Bool = true) throws {
        self.path = path
        self.catalog = catalog
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA journal_mode = WAL")
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        do {
            queue =
                path == ReadModelStore.inMemory
                ? try DatabaseQueue(configuration: configuration)
                : try DatabaseQueue(path: path, configuration: configuration)
            try queue.write { db in try ReadModelStore.createSchema(db, catalog: catalog) }
        } catch {
            throw ProjectionsError(.storage, "cannot open read models", path: path, underlying: error)
        }
        if requireCurrentVersions {
            let stored = try versions()
            for p in catalog.all where stored[p.name] != p.version {
                throw ProjectionsError(
                    .versionMismatch,
                    "projection \(p.name) is at version \(stored[p.name].map(String.init) ?? "none"), this build has \(p.version); run tally rebuild",
                    path: path)
            }
        }
    }

    /// The leaderboards' indexes on `people`.
    static let peopleIndexes: [(name: String, create: String)] = [
        ("people_by_score", "CREATE INDEX IF NOT EXISTS people_by_score ON people (guild, score DESC)"),
        ("people_by_minutes", "CREATE INDEX IF NOT EXISTS people_by_minutes ON people (guild, minutes DESC)"),
        ("people_by_tickets", "CREATE INDEX IF NOT EXISTS people_by_tickets ON people (guild, tickets DESC)"),
    ]

    /// From how many people a write into an empty `people` table is a bulk load, by default (see
    /// ``write(_:only:bulkFrom:)``).
    public static let bulkPeople = 10_000

    static func createSchema(_ db: Database, catalog: ProjectionCatalog) throws {
        try db.execute(
            sql: """
                CREATE TABLE IF NOT EXISTS projection_versions (name TEXT PRIMARY KEY, version INTEGER NOT NULL);
                CREATE TABLE IF NOT EXISTS checkpoint (id INTEGER PRIMARY KEY CHECK (id = 1), next_offset INTEGER NOT NULL);
                CREATE TABLE IF NOT EXISTS people (
                    guild INTEGER NOT NULL, person TEXT NOT NULL, discord_user INTEGER, kick_user INTEGER, name TEXT NOT NULL,
                    minutes INTEGER NOT NULL, points INTEGER NOT NULL, points_earned INTEGER NOT NULL, score INTEGER NOT NULL,
                    tickets_watchtime INTEGER NOT NULL, tickets_gifted_sub INTEGER NOT NULL, tickets_shop INTEGER NOT NULL,
                    tickets_admin INTEGER NOT NULL, tickets INTEGER NOT NULL, excluded INTEGER NOT NULL,
                    PRIMARY KEY (guild, person)) WITHOUT ROWID;
                CREATE TABLE IF NOT EXISTS guilds (
                    guild INTEGER PRIMARY KEY, live INTEGER NOT NULL, tracking TEXT NOT NULL, settings TEXT NOT NULL);
                CREATE TABLE IF NOT EXISTS raffle_periods (
                    guild INTEGER NOT NULL, period INTEGER NOT NULL, starts_at INTEGER NOT NULL, ends_at INTEGER NOT NULL,
                    commitment BLOB NOT NULL, open INTEGER NOT NULL, seed BLOB, beacon_round INTEGER NOT NULL,
                    beacon BLOB, table_digest BLOB, PRIMARY KEY (guild, period));
                CREATE TABLE IF NOT EXISTS raffle_draws (
                    guild INTEGER NOT NULL, period INTEGER NOT NULL, number INTEGER NOT NULL, winner TEXT NOT NULL,
                    winning_ticket INTEGER NOT NULL, total_tickets INTEGER NOT NULL, winner_tickets INTEGER NOT NULL,
                    participants INTEGER NOT NULL, participants_digest BLOB NOT NULL, seed BLOB NOT NULL,
                    beacon_round INTEGER NOT NULL, beacon BLOB NOT NULL, replaces INTEGER, reason TEXT NOT NULL,
                    PRIMARY KEY (guild, period, number));
                CREATE TABLE IF NOT EXISTS role_thresholds (
                    guild INTEGER NOT NULL, role INTEGER NOT NULL, name TEXT NOT NULL, minutes INTEGER NOT NULL,
                    position INTEGER NOT NULL, enabled INTEGER NOT NULL, PRIMARY KEY (guild, role));
                CREATE TABLE IF NOT EXISTS role_targets (
                    guild INTEGER NOT NULL, user INTEGER NOT NULL, role INTEGER NOT NULL, PRIMARY KEY (guild, user, role));
                CREATE TABLE IF NOT EXISTS role_outbox (
                    guild INTEGER NOT NULL, user INTEGER NOT NULL, role INTEGER NOT NULL, grant INTEGER NOT NULL,
                    requested_at INTEGER NOT NULL, PRIMARY KEY (guild, user, role, grant));
                CREATE TABLE IF NOT EXISTS links (
                    guild INTEGER NOT NULL, user INTEGER NOT NULL, kick_user INTEGER NOT NULL, kick_username TEXT NOT NULL,
                    PRIMARY KEY (guild, user));
                CREATE TABLE IF NOT EXISTS shop_items (
                    guild INTEGER NOT NULL, item INTEGER NOT NULL, name TEXT NOT NULL, price INTEGER NOT NULL,
                    stock INTEGER NOT NULL, per_person_limit INTEGER NOT NULL, limit_window_seconds INTEGER NOT NULL,
                    requirement_prompt TEXT NOT NULL, tickets INTEGER NOT NULL, active INTEGER NOT NULL,
                    PRIMARY KEY (guild, item));
                CREATE TABLE IF NOT EXISTS shop_orders (
                    guild INTEGER NOT NULL, order_id INTEGER NOT NULL, item INTEGER NOT NULL, person TEXT NOT NULL,
                    price INTEGER NOT NULL, tickets INTEGER NOT NULL, requirement TEXT NOT NULL, status TEXT NOT NULL,
                    PRIMARY KEY (guild, order_id));
                """)
        for index in peopleIndexes { try db.execute(sql: index.create) }
        if try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM projection_versions") == 0 {
            for p in catalog.all {
                try db.execute(sql: "INSERT INTO projection_versions VALUES (?, ?)", arguments: [p.name, p.version])
            }
        }
    }

    /// The version each projection in the database was built with.
    public func versions() throws -> [String: Int] {
        try read { db in
            Dictionary(
                uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT name, version FROM projection_versions").map {
                    ($0["name"] as String, $0["version"] as Int)
                })
        }
    }

    /// The offset after the last event the rows reflect; zero for a new database.
    public func checkpoint() throws -> Offset {
        try read { db in Offset(UInt64(try Int64.fetchOne(db, sql: "SELECT next_offset FROM checkpoint") ?? 0)) }
    }

    /// Writes the rows of everything that changed in `model` since the last write, and its offset as
    /// the checkpoint, in one transaction; then clears the model's change marks.
    ///
    /// A first write of at least `bulkFrom` people into an empty `people` table (from a snapshot,
    /// or a rebuild) is a bulk load: rows in key order, the leaderboard indexes built at the end.
    ///
    /// - Parameters:
    ///   - only: write just these projections (the others' tables are left alone).
    ///   - bulkFrom: how many changed people make a write into an empty table a bulk load.
    public func write(_ model: inout ProjectionModel, only: Set<String>? = nil, bulkFrom: Int = bulkPeople) throws {
        let snapshot = model
        do {
            try queue.write { db in
                var writer = ReadModelWriter(db: db, catalog: catalog, only: only)
                if only?.contains(catalog.people.name) ?? true, snapshot.dirtyPeopleCount >= bulkFrom {
                    writer.bulk = try !(Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM people)") ?? true)
                }
                if writer.bulk {
                    // The leaderboard indexes are built once at the end (sorting) rather than row by
                    // row, and the rows go in key order through a page cache that holds the table's
                    // growing edge.
                    try db.execute(sql: "PRAGMA cache_size = -65536")
                    defer { try? db.execute(sql: "PRAGMA cache_size = -2000") }
                    for index in Self.peopleIndexes { try db.execute(sql: "DROP INDEX IF EXISTS \(index.name)") }
                    try writer.write(snapshot)
                    for index in Self.peopleIndexes { try db.execute(sql: index.create) }
                } else {
                    try writer.write(snapshot)
                }
                try db.execute(
                    sql:
                        "INSERT INTO checkpoint (id, next_offset) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET next_offset = excluded.next_offset",
                    arguments: [Int64(snapshot.nextOffset.rawValue)])
            }
        } catch {
            throw ProjectionsError(.storage, "cannot write read models", path: path, underlying: error)
        }
        model.clearDirty()
    }

    /// Runs a read on the database.
    package func read<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            return try queue.read(body)
        } catch let error as ProjectionsError {
            throw error
        } catch {
            throw ProjectionsError(.storage, "cannot read read models", path: path, underlying: error)
        }
    }

    /// Sets the recorded version of projections (after a rebuild wrote them).
    func setVersions(_ projections: [ProjectionCatalog.Projection]) throws {
        try queue.write { db in
            for p in projections {
                try db.execute(
                    sql:
                        "INSERT INTO projection_versions VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET version = excluded.version",
                    arguments: [p.name, p.version])
            }
        }
    }

    /// Closes the database so the file can be renamed.
    public func close() throws { try queue.close() }
}

extension ReadModelStore {
    /// Renames the read-model database at `path` (with its WAL files) to `<path>.set-aside-<end>`
    /// when its checkpoint lies past `end`: after `tally log repair` cut the log at `end`, its rows
    /// reflect records that no longer exist, and the next start rebuilds it from the log.
    ///
    /// - Returns: the new path, or nil when there is no such database or it is not past `end`.
    /// - Throws: ``ProjectionsError`` `storage` when it cannot be read or renamed.
    public static func setAside(path: String, ifCheckpointPast end: Offset) throws -> String? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let checkpoint = try ReadModelStore(path: path, requireCurrentVersions: false).checkpoint()
        guard checkpoint > end else { return nil }
        let aside = path + ".set-aside-\(end.rawValue)"
        do {
            for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: path + suffix) {
                try FileSystem.rename(path + suffix, to: aside + suffix)
            }
            try FileSystem.syncDirectory(FileSystem.directory(of: path))
        } catch {
            throw ProjectionsError(.storage, "cannot set the read models aside", path: path, underlying: error)
        }
        return aside
    }
}
