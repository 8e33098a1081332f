import Foundation
import GRDB

/// Where the coordinator keeps its assignment table, so a restarted coordinator moves nothing.
///
/// The table is saved whole, as JSON in one row, after every change: it is small (a few bytes per
/// partition), and one row written in one transaction can never be half-updated. It is a SQLite
/// file for one coordinator; several coordinators share `PostgresCoordinatorStore` instead (see
/// ``CoordinatorStateStore``).
public final class AssignmentStore: Sendable {
    private let queue: DatabaseQueue
    public let path: String

    public init(path: String) throws {
        self.path = path
        var configuration = Configuration()
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA journal_mode = WAL") }
        queue = try DatabaseQueue(path: path, configuration: configuration)
        try queue.write { db in
            try db.execute(
                sql:
                    "CREATE TABLE IF NOT EXISTS assignment (id INTEGER PRIMARY KEY CHECK (id = 1), tablejson BLOB NOT NULL)"
            )
        }
    }

    /// The saved table, or nil if none was saved (or it was saved for another partition count).
    public func load(partitionCount: Int) throws -> AssignmentTable? {
        guard
            let data = try queue.read({ db in
                try Data.fetchOne(db, sql: "SELECT tablejson FROM assignment WHERE id = 1")
            }),
            let table = try? JSONDecoder().decode(AssignmentTable.self, from: data),
            table.configuration.partitionCount == partitionCount
        else { return nil }
        return table
    }

    public func save(_ table: AssignmentTable) throws {
        let data = try JSONEncoder().encode(table)
        try queue.write { db in
            try db.execute(
                sql:
                    "INSERT INTO assignment (id, tablejson) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET tablejson = excluded.tablejson",
                arguments: [data])
        }
    }
}

extension AssignmentStore: CoordinatorStateStore {
    /// The saved table (the registry is not kept in the file: shards announce their URLs again
    /// with their next heartbeat, within a second).
    public func load(configuration: AssignmentTable.Configuration) async throws -> CoordinatorState? {
        guard let saved = try load(partitionCount: configuration.partitionCount) else { return nil }
        return CoordinatorState(
            table: AssignmentTable(configuration: configuration, entries: saved.entries, leases: saved.leases))
    }

    /// Saves the table whole; the term is not checked (a file has one coordinator, locked by
    /// nothing but the deployment).
    public func save(_ state: CoordinatorState, replacing previous: CoordinatorState, term: CoordinatorTerm)
        async throws
    {
        try save(state.table)
    }
}
