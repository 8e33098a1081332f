import EventLog
import Foundation
import PostgresStore
import TallyTesting

/// A fresh database on the shared test server, as a store URL.
func makeDatabase(_ label: String = #function) throws -> String {
    try PostgresServer.shared().createDatabase(label).dsn
}

/// Runs `body` with a prepared store on a fresh database of the shared test server; the store runs
/// in a child task and is shut down afterwards, also when `body` throws.
func withStore<T: Sendable>(
    partitions: Int = 4, label: String = #function, _ body: (PostgresLogStore, String) async throws -> T
) async throws -> T {
    let url = try makeDatabase(label)
    return try await withStore(url: url, partitions: partitions) { try await body($0, url) }
}

/// Runs `body` with a store on `url` (several stores on one database act as several machines).
func withStore<T: Sendable>(
    url: String, partitions: Int? = 4, _ body: (PostgresLogStore) async throws -> T
) async throws -> T {
    try await PostgresLogStore.withRunning(url: url, partitionCount: partitions, logger: testLogger, body)
}

func makeRecord(guild: UInt64, sequence: UInt64, size: Int = 32, time: Int64? = nil) -> Record {
    Record(
        guild: GuildID(guild), sequence: sequence,
        timestamp: Timestamp(milliseconds: time ?? (1_700_000_000_000 + Int64(sequence))),
        type: EventTypeTag(UInt16(truncatingIfNeeded: sequence % 7)), typeVersion: 1,
        payload: SelfCheckingPayload.make(writer: 0, counter: sequence, length: max(size, 16)))
}
