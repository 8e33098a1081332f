import EventLog
import Foundation
import Logging
import NIOCore
import PostgresNIO
import PostgresStore
import Synchronization

/// `tally bench log --store postgres://…`: the PostgreSQL store's durable append and read, with two
/// baselines measured in the same run, from the same process, against the same server: COPY of one
/// row per event (how row-per-event journals store events) and one INSERT per event per transaction
/// (how the old bot writes).
struct PostgresLogBench {
    var url: String
    var events: Int
    var rowInsertEvents: Int
    var appenders: Int
    var recordsPerAppend: Int

    struct Results: Encodable {
        var events = 0
        var appenders = 0
        var recordsPerAppend = 0
        var rowInsertEvents = 0
        var server = ""
        var synchronousCommit = ""
        var appendEventsPerSecond = 0.0
        var copyBaselineEventsPerSecond = 0.0
        var rowInsertBaselineEventsPerSecond = 0.0
        var readEventsPerSecond = 0.0
        var storedBytesPerEvent = 0.0

        enum CodingKeys: String, CodingKey {
            case events, appenders, server
            case recordsPerAppend = "records_per_append"
            case rowInsertEvents = "row_insert_events"
            case synchronousCommit = "synchronous_commit"
            case appendEventsPerSecond = "append_events_per_s"
            case copyBaselineEventsPerSecond = "copy_baseline_events_per_s"
            case rowInsertBaselineEventsPerSecond = "row_insert_baseline_events_per_s"
            case readEventsPerSecond = "read_events_per_s"
            case storedBytesPerEvent = "stored_bytes_per_event"
        }

        var json: String {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
        }

        var table: String {
            func row(_ name: String, _ rate: Double, _ note: String) -> String {
                name.padding(toLength: 44, withPad: " ", startingAt: 0)
                    + String(format: "%14.0f events/s  %@", rate, note)
            }
            return [
                "PostgreSQL store: \(events) events, \(appenders) appenders × \(recordsPerAppend) records; \(server), synchronous_commit=\(synchronousCommit)",
                row("Tally append (one batch row per commit)", appendEventsPerSecond, ""),
                row(
                    "baseline: COPY, one row per event", copyBaselineEventsPerSecond,
                    String(format: "Tally = %.1f×", appendEventsPerSecond / copyBaselineEventsPerSecond)),
                row(
                    "baseline: INSERT per event per transaction", rowInsertBaselineEventsPerSecond,
                    String(
                        format: "Tally = %.0f× (%d events)", appendEventsPerSecond / rowInsertBaselineEventsPerSecond,
                        rowInsertEvents)),
                row("Tally read (verified batches)", readEventsPerSecond, ""),
                String(format: "stored: %.1f bytes per event (batch rows)", storedBytesPerEvent),
            ].joined(separator: "\n")
        }
    }

    func measure(logger: Logger) async throws -> Results {
        progress("generating \(events) events over 10,000 guilds and 300,000 users")
        var workload = BenchWorkload()
        let records = (0..<events).map { _ in BenchWorkload.record(workload.next()) }
        let chunks = stride(from: 0, to: records.count, by: recordsPerAppend).map {
            Array(records[$0..<min($0 + recordsPerAppend, records.count)])
        }
        var results = Results()
        results.events = events
        results.appenders = appenders
        results.recordsPerAppend = recordsPerAppend
        results.rowInsertEvents = min(rowInsertEvents, events)
        try await withPostgresStore(url: url, partitionCount: 1, logger: logger) { store in
            guard try await store.existingPartitions().isEmpty else {
                throw EventLogError(
                    .invalidArgument, "the bench needs an empty database; \(store.location) holds Tally data")
            }
            results.server = try await text(store, "SELECT split_part(version(), ' ', 2)")
            results.synchronousCommit = try await text(store, "SHOW synchronous_commit")
            try await store.execute("DROP TABLE IF EXISTS tally_bench_events")
            try await store.execute(
                """
                CREATE TABLE tally_bench_events (id bigserial PRIMARY KEY, guild bigint NOT NULL,
                    sequence bigint NOT NULL, time bigint NOT NULL, type smallint NOT NULL,
                    version smallint NOT NULL, payload bytea NOT NULL)
                """)
            defer { progress("done; the tables stay in the database for inspection") }

            progress("Tally append: \(appenders) appenders × \(recordsPerAppend) records per append")
            let log = try await store.openForWriting(
                partition: PartitionID(0), epoch: .initial, configuration: .init(), logger: logger)
            let appendSeconds = try await timed {
                try await fanOut(chunks) { chunk in _ = try await log.append(chunk) }
            }
            results.appendEventsPerSecond = Double(events) / appendSeconds
            await log.close()

            progress(
                "baseline: COPY of one row per event, \(appenders) connections × \(recordsPerAppend) rows per COPY")
            let copySeconds = try await timed {
                try await fanOut(chunks) { chunk in try await store.copyRows(chunk, logger: logger) }
            }
            results.copyBaselineEventsPerSecond = Double(events) / copySeconds

            progress("baseline: one INSERT per event per transaction, \(results.rowInsertEvents) events")
            let singles = records.prefix(results.rowInsertEvents).map { [$0] }
            let insertSeconds = try await timed {
                try await fanOut(singles) { one in try await store.insertRow(one[0], logger: logger) }
            }
            results.rowInsertBaselineEventsPerSecond = Double(singles.count) / insertSeconds

            progress("Tally read of \(events) events")
            let reader = try await store.openForReading(partition: PartitionID(0), logger: logger)
            var read = 0
            let readSeconds = try await timed {
                try await reader.forEachRecord(LogQuery(), batchesPerPage: 256) { _ in read += 1 }
            }
            guard read == events else {
                throw EventLogError(.corruption, "read \(read) events back, appended \(events)")
            }
            results.readEventsPerSecond = Double(read) / readSeconds
            let stored = try await text(store, "SELECT sum(octet_length(bytes))::text FROM tally_batches")
            results.storedBytesPerEvent = (Double(stored) ?? 0) / Double(events)
        }
        return results
    }

    /// Runs `body` over `items` with `appenders` concurrent workers taking the next item in turn.
    private func fanOut<T: Sendable>(_ items: [T], _ body: @escaping @Sendable (T) async throws -> Void) async throws {
        let next = Counter()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<appenders {
                group.addTask {
                    while let i = next.take(below: items.count) { try await body(items[i]) }
                }
            }
            try await group.waitForAll()
        }
    }

    private func text(_ store: PostgresLogStore, _ sql: String) async throws -> String {
        try await store.queryText(sql)
    }

    private func progress(_ message: String) {
        FileHandle.standardError.write(Data("bench: \(message)\n".utf8))
    }
}

/// Hands out 0, 1, 2 … to concurrent workers.
private final class Counter: Sendable {
    private let value = Mutex(0)
    func take(below limit: Int) -> Int? {
        value.withLock { v in
            guard v < limit else { return nil }
            defer { v += 1 }
            return v
        }
    }
}
