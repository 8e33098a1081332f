import Foundation
import TallyTesting
import Testing

@testable import EventLog

/// A failed `fdatasync` fails its append and every later one, whether the writer thread synced the
/// batch itself (a small batch while the syncer was idle) or handed it to the syncer thread (a large
/// one); the next owner finds exactly the acknowledged records.
@Suite(.serialized) struct FailedSyncTests {
    @Test(arguments: [1, 200]) func aFailedSyncFailsItsAppendAndEveryLaterOne(recordsPerAppend: Int) async throws {
        let dir = TemporaryDirectory()
        let log = try openWriter(dir.path)
        var sequence: UInt64 = 0
        func records() -> [Record] {
            defer { sequence += UInt64(recordsPerAppend) }
            return (0..<recordsPerAppend).map { makeRecord(guild: 9, sequence: sequence + UInt64($0), size: 40) }
        }
        for _ in 0..<3 { _ = try await log.append(records()) }
        let acknowledged = log.endOffset
        #expect(acknowledged == Offset(UInt64(3 * recordsPerAppend)))

        FaultInjection.fail(.sync, under: dir.path, errno: EIO)
        defer { FaultInjection.clear(dir.path) }
        await #expect(throws: EventLogError.self) { _ = try await log.append(records()) }
        FaultInjection.clear(dir.path)
        // Syncing works again, but nothing written after a failed fsync can be trusted: refused.
        await #expect(throws: EventLogError.self) { _ = try await log.append(records()) }
        #expect(log.endOffset == acknowledged)
        await log.close()

        let next = try openWriter(dir.path, epoch: 2)
        #expect(next.endOffset == acknowledged, "only the acknowledged records are there")
        _ = try await next.append(records())
        #expect(next.endOffset == Offset(acknowledged.rawValue + UInt64(recordsPerAppend)))
        await next.close()
        #expect(try LogVerifier.verify(directory: dir.path, partition: PartitionID(0)).findings.isEmpty)
    }
}
