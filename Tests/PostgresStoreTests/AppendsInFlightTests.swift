import EventLog
import Foundation
import PostgresNIO
import TallyTesting
import Testing

@testable import PostgresStore

/// Several batches of one partition in flight at once: fencing stays exact, acknowledgements go in
/// offset order, and a failure in flight never loses an acknowledged batch or lets a gap be read.
@Suite(.timeLimit(.minutes(3))) struct AppendsInFlightTests {
    /// One append per batch, so that every append is its own transaction.
    static let oneAppendPerBatch: PartitionLog.Configuration = {
        var configuration = PartitionLog.Configuration()
        configuration.maxBatchBytes = 1
        return configuration
    }()

    /// What became of each of `count` concurrent single-record appends, by the order they were made.
    static func appendConcurrently(
        _ log: any PartitionLogHandle, count: Int
    ) async -> [Result<Range<Offset>, EventLogError>] {
        await withTaskGroup(of: (Int, Result<Range<Offset>, EventLogError>).self) { group in
            for i in 0..<count {
                group.addTask {
                    do {
                        return (i, .success(try await log.append([makeRecord(guild: 7, sequence: UInt64(1000 + i))])))
                    } catch let error as EventLogError {
                        return (i, .failure(error))
                    } catch {
                        return (i, .failure(EventLogError(.io, "\(error)")))
                    }
                }
            }
            var results = [Result<Range<Offset>, EventLogError>](
                repeating: .failure(EventLogError(.io, "")), count: count)
            for await (i, result) in group { results[i] = result }
            return results
        }
    }

    /// Makes every insert into `tally_batches` take `seconds` (an SQL expression) inside its
    /// transaction, holding the partition row and lock as any append does.
    static func slowEveryInsert(_ store: PostgresLogStore, seconds: String) async throws {
        try await store.execute(
            """
            CREATE FUNCTION tally_test_slow() RETURNS trigger LANGUAGE plpgsql AS
            $$ BEGIN PERFORM pg_sleep(\(seconds)); RETURN NEW; END $$
            """)
        try await store.execute(
            "CREATE TRIGGER slow BEFORE INSERT ON tally_batches FOR EACH ROW EXECUTE FUNCTION tally_test_slow()")
    }

    /// Runs `body` with two stores on one fresh database (two machines), the first owning
    /// `partition` at epoch 1 with one append per batch.
    static func withTwoMachines(
        owning partition: PartitionID,
        _ body: (PostgresLogStore, PostgresLogStore, any PartitionLogHandle) async throws -> Void
    ) async throws {
        let url = try makeDatabase()
        try await withStore(url: url) { machineA in
            try await withStore(url: url) { machineB in
                let old = try await machineA.openForWriting(
                    partition: partition, epoch: Epoch(1), configuration: Self.oneAppendPerBatch, logger: testLogger)
                try await body(machineA, machineB, old)
            }
        }
    }

    @Test func aStaleOwnerWithAppendsInFlightGetsNoneCommittedAfterAnotherOwnerAcquired() async throws {
        let partition = PartitionID(1)
        try await Self.withTwoMachines(owning: partition) { machineA, machineB, old in
            _ = try await old.append([makeRecord(guild: 7, sequence: 1)])
            // Every insert now takes 200 ms inside its transaction, holding the partition row.
            try await Self.slowEveryInsert(machineA, seconds: "0.2")

            async let appended = Self.appendConcurrently(old, count: 24)
            // Let the old owner get several batches in flight, then take the partition.
            try await Task.sleep(for: .milliseconds(300))
            let inFlightAtAcquire = try await scalar(
                machineB,
                "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%INSERT INTO tally_batches%' AND state = 'active' AND pid <> pg_backend_pid()"
            )
            let new = try await machineB.openForWriting(
                partition: partition, epoch: Epoch(1), configuration: .init(), logger: testLogger)
            #expect(new.epoch == Epoch(2))
            let oldRowsAtAcquire = try await scalar(machineB, "SELECT count(*) FROM tally_batches WHERE epoch = 1")
            let results = await appended
            #expect(inFlightAtAcquire >= 2, "the old owner should have had appends in flight")

            // Nothing of epoch 1 committed after the acquire, and all of it is below the new end.
            #expect(
                try await scalar(machineB, "SELECT count(*) FROM tally_batches WHERE epoch = 1") == oldRowsAtAcquire
            )
            #expect(
                try await scalar(
                    machineB, "SELECT coalesce(max(last_offset) + 1, 0) FROM tally_batches WHERE epoch = 1")
                    == Int64(new.endOffset.rawValue))
            // Some of the 24 were refused (the rest committed before the acquire); every one
            // acknowledged is in the log the new owner reads, and none of those refused is.
            let acknowledged = results.compactMap { try? $0.get() }
            let refused = results.filter { if case .failure = $0 { true } else { false } }
            // An acquire the old owner's appends could hold off would come after all 24 and refuse
            // none (so it went without the advisory lock: PostgreSQL lets a new `FOR SHARE` pass a
            // waiting `UPDATE`).
            #expect(!refused.isEmpty)
            #expect(acknowledged.allSatisfy { $0.upperBound <= new.endOffset })
            try await machineA.execute("DROP TRIGGER slow ON tally_batches")
            let read = try await new.collect(LogQuery())
            #expect(read.map(\.offset) == (0..<new.endOffset.rawValue).map { Offset($0) })
            let readSequences = Set(read.map(\.record.sequence))
            for (i, result) in results.enumerated() {
                switch result {
                case .success(let range):
                    #expect(read[Int(range.lowerBound.rawValue)].record.sequence == UInt64(1000 + i))
                case .failure(let error):
                    #expect(error.code == .staleEpoch || error.code == .io, "\(error)")
                }
            }
            // A refused append may still have committed before the acquire (its answer is what
            // was refused); then it is in the log, once. Every acknowledged one is there.
            #expect(read.count == readSequences.count)
            // The old owner stays fenced; the new one appends right after the old owner's tail.
            await #expect {
                try await old.append([makeRecord(guild: 7, sequence: 99)])
            } throws: { $0 is EventLogError }
            let next = try await new.append([makeRecord(guild: 7, sequence: 2000)])
            #expect(next.lowerBound == Offset(UInt64(read.count)))
            #expect(try await machineB.verify(partition: partition).findings.isEmpty)
            await new.close()
            await old.close()
        }
    }

    @Test func aFailureInFlightNeverLosesAnAcknowledgedBatchOrLetsAGapBeRead() async throws {
        let url = try makeDatabase()
        try await withStore(url: url) { store in
            let partition = PartitionID(2)
            let log = try await store.openForWriting(
                partition: partition, epoch: Epoch(1), configuration: Self.oneAppendPerBatch, logger: testLogger)
            // Every insert takes 20 ms; the first batch at offset 20 or later fails after 400 ms, when
            // the batches after it have committed.
            try await store.execute("CREATE SEQUENCE tally_test_once")
            try await store.execute(
                """
                CREATE FUNCTION tally_test_fail() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    PERFORM pg_sleep(0.02);
                    IF NEW.base_offset >= 20 AND nextval('tally_test_once') = 1 THEN
                        PERFORM pg_sleep(0.4);
                        RAISE EXCEPTION 'injected failure at %', NEW.base_offset;
                    END IF;
                    RETURN NEW;
                END $$
                """)
            try await store.execute(
                "CREATE TRIGGER fail BEFORE INSERT ON tally_batches FOR EACH ROW EXECUTE FUNCTION tally_test_fail()")

            let results = await Self.appendConcurrently(log, count: 60)
            let acknowledged = results.compactMap { try? $0.get() }.sorted { $0.lowerBound < $1.lowerBound }
            // Acknowledged appends tile a prefix of the log: no hole among them.
            let end = acknowledged.last?.upperBound ?? .zero
            #expect(acknowledged.map(\.lowerBound) == (0..<end.rawValue).map { Offset($0) })
            #expect(end >= Offset(20))
            #expect(acknowledged.count < 60)
            for case .failure(let error) in results { #expect(error.code == .io, "\(error)") }
            #expect(log.endOffset == end)

            // The failed batch left a gap with committed, never acknowledged, batches after it.
            let gap = Int64(end.rawValue)
            #expect(try await scalar(store, "SELECT count(*) FROM tally_batches WHERE base_offset = \(gap)") == 0)
            let afterGap = try await scalar(store, "SELECT count(*) FROM tally_batches WHERE base_offset > \(gap)")
            #expect(afterGap > 0, "the test needs batches committed after the failed one")

            // A reader beside the owner reads up to the gap, never past it.
            let reader = try await store.openForReading(partition: partition, logger: testLogger)
            #expect(reader.endOffset == end)
            let read = try await reader.collect(LogQuery())
            #expect(read.map(\.offset) == (0..<end.rawValue).map { Offset($0) })
            let guildRead = try await reader.collect(LogQuery(guild: GuildID(7)))
            #expect(guildRead.count == read.count)
            // The verifier calls the rows after the gap what they are, not damage.
            let report = try await store.verify(partition: partition)
            #expect(!report.isCorrupt)
            #expect(report.findings.contains { $0.severity == .warning && $0.message.contains("gap at offset \(gap)") })

            // The owner refuses everything until the partition is acquired again; that acquire
            // removes what followed the gap and continues from the acknowledged end.
            await #expect {
                try await log.append([makeRecord(guild: 7, sequence: 5000)])
            } throws: { $0 is EventLogError }
            await log.close()
            try await store.execute("DROP TRIGGER fail ON tally_batches")
            let again = try await store.openForWriting(
                partition: partition, epoch: Epoch(1), configuration: .init(), logger: testLogger)
            #expect(again.endOffset == end)
            #expect(try await scalar(store, "SELECT count(*) FROM tally_batches WHERE base_offset >= \(gap)") == 0)
            let range = try await again.append([makeRecord(guild: 7, sequence: 5001)])
            #expect(range == end..<Offset(end.rawValue + 1))
            let all = try await again.collect(LogQuery())
            #expect(all.map(\.offset) == (0...end.rawValue).map { Offset($0) })
            for (i, result) in results.enumerated() {
                if case .success(let r) = result {
                    #expect(all[Int(r.lowerBound.rawValue)].record.sequence == UInt64(1000 + i))
                }
            }
            #expect(try await store.verify(partition: partition).findings.isEmpty)
            await again.close()
        }
    }
}
