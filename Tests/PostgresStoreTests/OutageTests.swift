import EventLog
import Foundation
import TallyTesting
import Testing

@testable import PostgresStore

@Suite(.timeLimit(.minutes(3))) struct OutageTests {
    @Test func aRestartLosesNothingAcknowledgedAndTheOwnerMustReacquire() async throws {
        let server = try PostgresServer.start()
        defer { server.stop() }
        let url = try server.createDatabase().dsn
        try await withStore(url: url) { store in
            let partition = PartitionID(1)
            let log = try await store.openForWriting(
                partition: partition, epoch: .initial, configuration: .init(), logger: testLogger)
            var acknowledged: [UInt64] = []
            for i in 0..<20 as Range<UInt64> {
                _ = try await log.append([makeRecord(guild: 3, sequence: i)])
                acknowledged.append(i)
            }
            try server.restart(mode: "fast")
            // Appends go on until the pool meets the restart: then this handle refuses every append.
            var failed: EventLogError?
            for i in 20..<60 as Range<UInt64> {
                do {
                    _ = try await log.append([makeRecord(guild: 3, sequence: i)])
                    acknowledged.append(i)
                } catch let error as EventLogError {
                    failed = error
                    break
                }
            }
            if let failed {
                #expect(failed.code == .io)
                await #expect {
                    try await log.append([makeRecord(guild: 3, sequence: 99)])
                } throws: { ($0 as? EventLogError)?.code == .io }
            }
            await log.close()
            // A new owner (any machine) reacquires: every acknowledged record is there exactly once.
            let next = try await store.openForWriting(
                partition: partition, epoch: .initial, configuration: .init(), logger: testLogger)
            #expect(next.epoch == Epoch(2))
            let sequences = try await next.collect(LogQuery()).map(\.record.sequence)
            #expect(Array(sequences.prefix(acknowledged.count)) == acknowledged)
            #expect(Set(sequences).count == sequences.count)
            _ = try await next.append([makeRecord(guild: 3, sequence: 100)])
            let report = try await store.verify(partition: partition)
            #expect(!report.isCorrupt, "\(report.findings)")
            await next.close()
        }
    }
}
