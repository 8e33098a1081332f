import Foundation
import TallyTesting
import Testing

@testable import EventLog

/// The writer reserves the active segment's space ahead of its batches with zeroes (decision 16):
/// recovery, readers and `tally log verify` must treat those zeroes as free space, never as damage,
/// and sealed or cleanly closed segments must end at their last batch.
@Suite struct ReservedSpaceTests {
    /// Copies a partition directory's files as they are on disk while its writer runs: what a crash
    /// (SIGKILL) at this moment leaves behind, apart from the lock, which dies with the process.
    static func copyAsCrashed(_ source: String, to destination: String) throws {
        try FileManager.default.createDirectory(atPath: destination, withIntermediateDirectories: true)
        for name in try FileManager.default.contentsOfDirectory(atPath: source) where name != "LOCK" {
            try FileManager.default.copyItem(atPath: source + "/" + name, toPath: destination + "/" + name)
        }
    }

    static func appendBatches(_ log: PartitionLog, count: Int, from first: Int = 0) async throws {
        for i in first..<first + count {
            _ = try await log.append((0..<4).map { makeRecord(guild: 3, sequence: UInt64(i * 4 + $0), size: 60) })
        }
    }

    static func batchesEnd(_ log: PartitionLog) -> Int64 {
        log.state.values.withLock { $0.segments.last?.entries.last?.end ?? 0 }
    }

    @Test func aCrashedWritersReservedZeroesAreFreeSpaceNotATornTail() async throws {
        let dir = TemporaryDirectory()
        let live = try openWriter(dir.path + "/live")
        try await Self.appendBatches(live, count: 5)
        let end = Self.batchesEnd(live)
        let segment = try segmentPaths(dir.path + "/live")[0]
        #expect(fileSize(segment) == PartitionLog.Configuration().reserveBytes, "the writer reserved space ahead")
        #expect(end < fileSize(segment))

        let crashed = dir.path + "/crashed"
        try Self.copyAsCrashed(dir.path + "/live", to: crashed)
        await live.close()

        // Read-only: every batch is there, and the zeroes are neither damage nor a torn tail.
        let report = try LogVerifier.verify(directory: crashed, partition: PartitionID(0))
        #expect(report.findings.isEmpty, "\(report.findings)")
        #expect(report.records == 20)
        #expect(report.bytes == end)
        let reader = try openReader(crashed)
        #expect(reader.endOffset == Offset(20))
        #expect(reader.recovery.truncated == nil)
        await reader.close()

        // The next writer keeps the reserved space and writes its batches over it.
        let next = try openWriter(crashed, epoch: 2)
        #expect(next.recovery.truncated == nil)
        #expect(fileSize(try segmentPaths(crashed)[0]) == PartitionLog.Configuration().reserveBytes)
        try await Self.appendBatches(next, count: 3, from: 5)
        let entries = next.state.values.withLock { $0.segments.last!.entries }
        #expect(entries.count == 8)
        #expect(entries[5].position == end, "the first new batch starts where the old ones ended")
        let batchesEnd = Self.batchesEnd(next)
        await next.close()
        #expect(fileSize(try segmentPaths(crashed)[0]) == batchesEnd, "a clean close cuts the reserved space")
        let reread = try openReader(crashed)
        #expect(try reread.records(LogQuery()).map(\.record.sequence) == (0..<32).map(UInt64.init))
        await reread.close()
    }

    @Test func aTornBatchOverReservedSpaceIsStillCut() async throws {
        let dir = TemporaryDirectory()
        let live = try openWriter(dir.path + "/live")
        try await Self.appendBatches(live, count: 3)
        let end = Self.batchesEnd(live)
        let crashed = dir.path + "/crashed"
        try Self.copyAsCrashed(dir.path + "/live", to: crashed)
        await live.close()
        // A batch whose first bytes reached the disk and whose rest did not: a header, then zeroes.
        let segment = try segmentPaths(crashed)[0]
        let firstBatch = [UInt8](try Data(contentsOf: URL(fileURLWithPath: segment)).prefix(BatchHeader.size + 8))
        let handle = FileHandle(forUpdatingAtPath: segment)!
        try handle.seek(toOffset: UInt64(end))
        try handle.write(contentsOf: Data(firstBatch))
        try handle.close()

        let report = try LogVerifier.verify(directory: crashed, partition: PartitionID(0))
        #expect(!report.isCorrupt)
        #expect(report.findings.map(\.position) == [end], "one torn-tail warning at the torn batch")
        let next = try openWriter(crashed, epoch: 2)
        #expect(next.recovery.truncated?.position == end)
        #expect(next.endOffset == Offset(12))
        #expect(fileSize(segment) == end)
        await next.close()
    }

    @Test func sealedSegmentsEndAtTheirLastBatch() async throws {
        let dir = TemporaryDirectory()
        let log = try openWriter(dir.path, segmentBytes: 2048)
        try await Self.appendBatches(log, count: 40)
        let segments = log.state.values.withLock { $0.segments }
        #expect(segments.count > 3)
        for segment in segments.dropLast() {
            #expect(fileSize(segment.file.logPath) == segment.entries.last!.end, "\(segment.file.logPath)")
        }
        // The active one reserves no further than the segment limit (or one batch past it).
        let active = segments.last!
        #expect(fileSize(active.file.logPath) <= max(2048, active.entries.last!.end))
        await log.close()
        let report = try LogVerifier.verify(directory: dir.path, partition: PartitionID(0))
        #expect(report.findings.isEmpty, "\(report.findings)")
        #expect(report.records == 160)
    }

    @Test func zeroesAfterASealedSegmentsLastBatchAreCutByTheNextWriter() async throws {
        let dir = TemporaryDirectory()
        let log = try openWriter(dir.path, segmentBytes: 2048)
        try await Self.appendBatches(log, count: 40)
        await log.close()
        let sealed = try segmentPaths(dir.path)[0]
        let size = fileSize(sealed)
        truncateFile(sealed, to: size + 4096)
        let report = try LogVerifier.verify(directory: dir.path, partition: PartitionID(0))
        #expect(!report.isCorrupt)
        #expect(report.findings.map(\.position) == [size])
        // A reader changes nothing; the next writer cuts the zeroes and keeps every record.
        let reader = try openReader(dir.path)
        #expect(reader.endOffset == Offset(160))
        await reader.close()
        #expect(fileSize(sealed) == size + 4096)
        let next = try openWriter(dir.path, epoch: 2, segmentBytes: 2048)
        #expect(next.endOffset == Offset(160))
        await next.close()
        #expect(fileSize(sealed) == size)
        #expect(try LogVerifier.verify(directory: dir.path, partition: PartitionID(0)).findings.isEmpty)
    }

    @Test func zeroesShorterThanAHeaderAreReservedSpaceToo() {
        let zeroes = [UInt8](repeating: 0, count: BatchHeader.size - 1)
        let result = zeroes.withUnsafeBytes { raw in
            SegmentScanner.scan(raw, startingAt: 0, expecting: .zero, knownByPosition: [:], fileSize: Int64(raw.count))
        }
        #expect(result.stop == .zeroes(position: 0))
        #expect(result.stop.position == nil)
        var almost = zeroes
        almost[almost.count - 1] = 1
        let torn = almost.withUnsafeBytes { raw in
            SegmentScanner.scan(raw, startingAt: 0, expecting: .zero, knownByPosition: [:], fileSize: Int64(raw.count))
        }
        #expect(torn.stop.position == 0, "a single non-zero byte is not reserved space")
    }

    @Test func withoutReservationTheFileGrowsBatchByBatch() async throws {
        let dir = TemporaryDirectory()
        var configuration = PartitionLog.Configuration()
        configuration.reserveBytes = 0
        let log = try PartitionLog.openForWriting(
            directory: dir.path, partition: PartitionID(0), epoch: Epoch(1), configuration: configuration,
            logger: testLogger)
        try await Self.appendBatches(log, count: 3)
        #expect(fileSize(try segmentPaths(dir.path)[0]) == Self.batchesEnd(log))
        await log.close()
    }
}
