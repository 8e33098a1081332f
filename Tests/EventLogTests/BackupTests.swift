import Foundation
import TallyTesting
import Testing

@testable import EventLog

/// `PartitionLog.backup(to:)`: a copy of the durable prefix while a writer appends.
@Suite(.timeLimit(.minutes(2))) struct LogBackupTests {
    @Test(arguments: [UInt64(1), 2, 3])
    func copiesExactlyTheDurablePrefixWhileAppendsContinue(seed: UInt64) async throws {
        let dir = TemporaryDirectory()
        var rng = SplitMix64(seed: seed)
        // Small segments, so the copy spans sealed segments and the active one.
        let log = try openWriter(dir.sub("live"), segmentBytes: 64 << 10, batchBytes: 8 << 10)
        for i in 0..<200 {
            _ = try await log.append([
                makeRecord(guild: 1 + rng.next() % 5, sequence: UInt64(i), size: Int(rng.next() % 2_000))
            ])
        }
        let (report, appended) = try await withThrowingTaskGroup(of: Int.self) { group in
            group.addTask {
                for i in 200..<600 { _ = try await log.append([makeRecord(guild: 3, sequence: UInt64(i), size: 500)]) }
                return 400
            }
            try await Task.sleep(for: .milliseconds(5))
            let report = try log.backup(to: dir.sub("copy"))
            return (report, try await group.next()!)
        }
        #expect(appended == 400)
        #expect(report.endOffset.rawValue >= 200)
        #expect(report.segments > 1)
        // The copy verifies and holds exactly the records below its end, byte for byte the live ones.
        let verified = try LogVerifier.verify(directory: dir.sub("copy"), partition: PartitionID(0))
        #expect(!verified.isCorrupt, "\(verified.findings)")
        #expect(verified.records == report.endOffset.rawValue)
        func payloads(_ directory: String, below end: Offset) throws -> [[UInt8]] {
            var out: [[UInt8]] = []
            _ = try openReader(directory).read(LogQuery(to: end)) { out.append(Array($0.payload)) }
            return out
        }
        #expect(
            try payloads(dir.sub("copy"), below: report.endOffset) == payloads(dir.sub("live"), below: report.endOffset)
        )
        // A writer can take the copy over and continue at its end.
        await log.close()
        let restored = try openWriter(dir.sub("copy"), epoch: 2)
        #expect(restored.endOffset == report.endOffset)
        let next = try await restored.append([makeRecord(guild: 1, sequence: 9_999, size: 10)])
        #expect(next.lowerBound == report.endOffset)
        await restored.close()
    }

    @Test func refusesADestinationThatAlreadyHoldsALog() async throws {
        let dir = TemporaryDirectory()
        let log = try openWriter(dir.sub("live"))
        _ = try await log.append([makeRecord(guild: 1, sequence: 0, size: 10)])
        _ = try log.backup(to: dir.sub("copy"))
        let before = try FileSystem.readAll(dir.sub("copy") + "/" + SegmentFile.stem(.zero) + SegmentFile.logSuffix)
        _ = try await log.append([makeRecord(guild: 1, sequence: 1, size: 10)])
        #expect(throws: EventLogError.self) { try log.backup(to: dir.sub("copy")) }
        let after = try FileSystem.readAll(dir.sub("copy") + "/" + SegmentFile.stem(.zero) + SegmentFile.logSuffix)
        #expect(before == after)
        await log.close()
    }
}
