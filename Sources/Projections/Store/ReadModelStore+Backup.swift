public import EventLog
import Foundation
import GRDB

/// Consistent copies of SQLite databases while they are written: `tally backup`.
extension ReadModelStore {
    /// Copies the SQLite database at `source` to `destination` through SQLite's online backup API
    /// (GRDB's `backup(to:)`), on a read-only connection of its own: the copy is the database as one
    /// read transaction saw it, while its writer goes on. The copy is checked (`PRAGMA
    /// integrity_check`) and fsynced.
    ///
    /// - Throws: ``ProjectionsError`` `storage` when either side cannot be opened or the copy fails
    ///   its check.
    public static func copyDatabase(from source: String, to destination: String) throws {
        do {
            var readOnly = Configuration()
            readOnly.readonly = true
            readOnly.busyMode = .timeout(10)  // the live writer may hold a checkpoint for a moment
            let from = try DatabaseQueue(path: source, configuration: readOnly)
            defer { try? from.close() }
            removeDatabase(at: destination)
            let to = try DatabaseQueue(path: destination)
            defer { try? to.close() }
            try from.backup(to: to)
            // The copy keeps no -wal file: one self-contained file, as a backup should be.
            try to.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA journal_mode = DELETE") }
            let check = try to.read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check") }
            guard check == ["ok"] else {
                throw ProjectionsError(
                    .storage, "the copy failed its integrity check: \(check.prefix(3).joined(separator: "; "))",
                    path: destination)
            }
        } catch let error as ProjectionsError {
            throw error
        } catch {
            throw ProjectionsError(.storage, "cannot copy the database", path: source, underlying: error)
        }
        let file = Glibc.open(destination, O_RDONLY)
        if file >= 0 {
            fsync(file)
            Glibc.close(file)
        }
    }

    /// Copies a partition's live read models (see ``copyDatabase(from:to:)``) and returns the offset
    /// the copy reflects.
    public static func backup(live: String, to destination: String) throws -> Offset {
        try copyDatabase(from: live, to: destination)
        let store = try ReadModelStore(path: destination, requireCurrentVersions: false)
        defer { try? store.close() }
        return try store.checkpoint()
    }
}
