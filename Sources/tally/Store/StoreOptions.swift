import ArgumentParser
import EventLog
import Foundation
import Logging
import PostgresStore

/// Where a command finds partition logs: a data directory (files), or a PostgreSQL store named by
/// `--store` or `TALLY_STORE`.
struct StoreOptions: ParsableArguments {
    @Argument(help: "The data directory (omit with --store).")
    var directory: String?

    @Option(
        help: ArgumentHelp(
            "A PostgreSQL store, postgres://USER@HOST:PORT/DATABASE, instead of a data directory.",
            discussion: "Default: the TALLY_STORE environment variable, when no directory is given."))
    var store: String?

    /// The store URL in effect, if any.
    var url: String? { store ?? (directory == nil ? environmentStoreURL() : nil) }

    func validate() throws {
        if directory != nil, store != nil {
            throw ValidationError("give a data directory or --store, not both")
        }
        if directory == nil, url == nil {
            throw ValidationError("give a data directory, --store postgres://…, or set TALLY_STORE")
        }
    }

    /// Runs `body` with the store opened: a ``FileLogStore`` or a running, migrated `PostgresLogStore`.
    func withStore<T: Sendable>(logger: Logger, _ body: (any LogStore) async throws -> T) async throws -> T {
        if let url {
            return try await withPostgresStore(url: url, logger: logger) { try await body($0) }
        }
        return try await body(FileLogStore(data: try openDataDirectory(directory ?? ".")))
    }
}

/// Runs `body` with a PostgreSQL store whose pool runs in a child task; shuts it down afterwards.
///
/// - Parameter partitionCount: the count to create the store with when it is new; nil requires an
///   existing store.
func withPostgresStore<T: Sendable>(
    url: String, partitionCount: Int? = nil, logger: Logger, _ body: (PostgresLogStore) async throws -> T
) async throws -> T {
    do {
        _ = try PostgresStoreConfiguration(url: url)
    } catch {
        throw ValidationError("\(error)")
    }
    return try await PostgresLogStore.withRunning(url: url, partitionCount: partitionCount, logger: logger, body)
}

/// `--store` of `serve` and `shard`: partition logs and snapshots in PostgreSQL instead of the data
/// directory, which then keeps only this process's read models, keys and secrets.
struct ServerStoreOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Keep partition logs and snapshots in PostgreSQL, postgres://USER@HOST:PORT/DATABASE (default: TALLY_STORE).",
            discussion: "Without it (and without TALLY_STORE) the logs are files in the data directory."))
    var store: String?

    /// The store URL in effect, if any.
    var url: String? { store ?? environmentStoreURL() }

    /// The data directory at `path` and, with a store URL, the PostgreSQL store to run in the process's
    /// `ServiceGroup`.
    ///
    /// With a URL the store is prepared once here (schema migrated, partition count read): a new
    /// store gets `partitions`, or the local directory's count, or the default; an existing one keeps
    /// its own, and a `partitions` or a local directory that disagrees is refused. The local
    /// directory is then opened (or created) with the store's count. Without a URL, the directory is
    /// opened with `partitions` as `open(path:creatingWith:)` takes it.
    func open(data path: String, partitions: Int?, logger: Logger) async throws -> (DataDirectory, PostgresLogStore?) {
        guard let url else { return (try DataDirectory.open(path: path, creatingWith: partitions), nil) }
        let local = try? DataDirectory.open(path: path)
        let asked = partitions ?? local?.partitionCount
        let count: Int
        do {
            count = try await withPostgresStore(url: url, partitionCount: asked, logger: logger) { $0.partitionCount }
        } catch let error as EventLogError where error.code == .notFound && asked == nil {
            count = try await withPostgresStore(
                url: url, partitionCount: DataDirectory.defaultPartitionCount, logger: logger
            ) { $0.partitionCount }
        }
        let directory = try DataDirectory.open(path: path, creatingWith: count)
        return (directory, try PostgresLogStore(url: url, preparedPartitionCount: count, logger: logger))
    }
}

/// `TALLY_STORE`, when set and not empty: the PostgreSQL store commands use without `--store`.
func environmentStoreURL() -> String? {
    guard let url = ProcessInfo.processInfo.environment["TALLY_STORE"], !url.isEmpty else { return nil }
    return url
}
