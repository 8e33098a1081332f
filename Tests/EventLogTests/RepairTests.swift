import Foundation
import TallyTesting
import Testing

@testable import EventLog

/// `tally log repair`: what a cut would lose, and a cut that keeps the cut bytes beside the log.
@Suite struct RepairTests {
    @Test func damageInTheMiddleOfTheActiveSegmentIsPlannedThenCutWithACopyKept() async throws {
        let dir = TemporaryDirectory()
        let entries = try await DurabilityTests.fiveBatches(dir.path)
        let segment = try segmentPaths(dir.path)[0]
        let size = fileSize(segment)
        flipBit(segment, at: entries[2].position + 70)
        #expect(throws: EventLogError.self) { try openWriter(dir.path) }

        let plan = try LogRepair.plan(directory: dir.path, partition: PartitionID(0))
        let damage = try #require(plan.damage)
        #expect(damage.path == segment)
        #expect(damage.position == entries[2].position)
        #expect(damage.bytesCut == size - entries[2].position)
        #expect(damage.keptEnd == entries[2].baseOffset)
        #expect(damage.knownEnd == Offset(15))
        #expect(damage.recordsLost == 9)
        #expect(damage.validBatchesCut == 2 && damage.validRecordsCut == 6)
        #expect(fileSize(segment) == size, "planning changed the log")

        let pristineTail = try Data(contentsOf: URL(fileURLWithPath: segment)).suffix(from: Int(damage.position))
        let kept = try LogRepair.truncateAfterDamage(plan)
        #expect(kept == [segment + ".damaged-\(damage.position)"])
        #expect(try Data(contentsOf: URL(fileURLWithPath: kept[0])) == pristineTail)
        #expect(fileSize(segment) == damage.position)
        #expect(!(try LogVerifier.verify(directory: dir.path, partition: PartitionID(0)).isCorrupt))
        let log = try openWriter(dir.path)
        #expect(log.endOffset == Offset(6))
        #expect(try log.records(LogQuery()).count == 6)
        await log.close()
    }

    @Test func damageInASealedSegmentCutsTheLaterSegmentsToo() async throws {
        let dir = TemporaryDirectory()
        let log = try openWriter(dir.path, segmentBytes: 600)
        for i in 0..<12 {
            _ = try await log.append([makeRecord(guild: UInt64(i % 3 + 1), sequence: UInt64(i), size: 150)])
        }
        await log.close()
        let segments = try segmentPaths(dir.path)
        #expect(segments.count >= 3)
        let entries = SegmentIndexFile.load(
            path: segments[0].replacingOccurrences(of: ".log", with: ".index"), baseOffset: .zero)!
        flipBit(segments[0], at: entries[1].position + 80)

        let plan = try LogRepair.plan(directory: dir.path, partition: PartitionID(0))
        let damage = try #require(plan.damage)
        #expect(damage.path == segments[0] && damage.position == entries[1].position)
        #expect(damage.laterSegments == Array(segments.dropFirst()))
        #expect(damage.keptEnd == Offset(1) && damage.knownEnd == Offset(12))

        let kept = try LogRepair.truncateAfterDamage(plan)
        #expect(kept.count == segments.count)
        #expect(try segmentPaths(dir.path) == [segments[0]])
        #expect(!(try LogVerifier.verify(directory: dir.path, partition: PartitionID(0)).isCorrupt))
        let reopened = try openWriter(dir.path, segmentBytes: 600)
        #expect(reopened.endOffset == Offset(1))
        #expect(try await reopened.append([makeRecord(guild: 1, sequence: 99, size: 10)]) == Offset(1)..<Offset(2))
        await reopened.close()
    }

    @Test func anUndamagedLogHasNothingToCut() async throws {
        let dir = TemporaryDirectory()
        _ = try await DurabilityTests.fiveBatches(dir.path)
        #expect(try LogRepair.plan(directory: dir.path, partition: PartitionID(0)).damage == nil)
    }

    @Test func theCommandShowsTheCutThenMakesVerifyPass() async throws {
        let dir = TemporaryDirectory()
        let data = try DataDirectory.open(path: dir.path, creatingWith: 2)
        let partition = data.directory(of: PartitionID(1))
        let entries = try await DurabilityTests.fiveBatches(partition)
        flipBit(try segmentPaths(partition)[0], at: entries[3].position + 70)
        func tally(_ arguments: [String]) throws -> (Int32, String) { try TallyProcess.run(arguments) }
        #expect(try tally(["log", "verify", dir.path]).0 == 1)
        let (status, shown) = try tally(["log", "repair", dir.path, "--partition", "1"])
        #expect(status == 0)
        #expect(shown.contains("at byte \(entries[3].position)"), "\(shown)")
        #expect(shown.contains("(6 record(s))"), "\(shown)")
        #expect(shown.contains("nothing changed"), "\(shown)")
        #expect(try tally(["log", "verify", dir.path]).0 == 1)
        let (cutStatus, cut) = try tally(["log", "repair", dir.path, "--partition", "1", "--truncate-after-damage"])
        #expect(cutStatus == 0, "\(cut)")
        #expect(cut.contains(".damaged-\(entries[3].position)"), "\(cut)")
        let (verifyStatus, verified) = try tally(["log", "verify", dir.path])
        #expect(verifyStatus == 0, "\(verified)")
    }
}
