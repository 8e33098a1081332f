import Foundation
import TallyTesting
import Testing

@testable import EventLog

/// Directory fsyncs, the durable recovery point, and what recovery may cut.
@Suite struct DurabilityTests {
    /// Five 3-record batches, closed cleanly: the recovery point is at their end.
    static func fiveBatches(_ dir: String) async throws -> [IndexEntry] {
        let log = try openWriter(dir)
        for i in 0..<5 {
            _ = try await log.append((0..<3).map { makeRecord(guild: 5, sequence: UInt64(i * 3 + $0), size: 40) })
        }
        await log.close()
        return SegmentIndexFile.load(path: dir + "/00000000000000000000.index", baseOffset: .zero)!
    }

    /// Makes the index forget the last batch, as a crash between its fsync and its index write would.
    static func forgetLastIndexEntry(_ dir: String, _ entries: [IndexEntry]) throws {
        try SegmentIndexFile.write(
            Array(entries.dropLast()), path: dir + "/00000000000000000000.index", baseOffset: .zero)
    }

    @Test func creatingAPartitionFsyncsItsParentDirectory() async throws {
        let dir = TemporaryDirectory()
        let partitions = dir.path + "/partitions"
        try FileSystem.createDirectory(partitions)
        let before = FileSystem.directorySyncs.withLock { $0[partitions] ?? 0 }
        let log = try PartitionLog.openForWriting(
            directory: partitions + "/p00000", partition: PartitionID(0), epoch: Epoch(1), logger: testLogger)
        await log.close()
        #expect(FileSystem.directorySyncs.withLock { $0[partitions] ?? 0 } > before)
    }

    @Test func recoveryPointFollowsDurableAppends() async throws {
        let dir = TemporaryDirectory()
        var configuration = PartitionLog.Configuration()
        configuration.recoveryPointInterval = .zero
        let log = try PartitionLog.openForWriting(
            directory: dir.path, partition: PartitionID(0), epoch: Epoch(1), configuration: configuration,
            logger: testLogger)
        for i in 0..<4 { _ = try await log.append([makeRecord(guild: 1, sequence: UInt64(i), size: 30)]) }
        // Recorded after the acknowledgement: wait for the syncer thread to write it.
        var point = try RecoveryPoint.load(directory: dir.path)
        for _ in 0..<100 where point?.offset != Offset(4) {
            try await Task.sleep(for: .milliseconds(10))
            point = try RecoveryPoint.load(directory: dir.path)
        }
        #expect(point?.offset == Offset(4))
        await log.close()
        #expect(try RecoveryPoint.load(directory: dir.path)?.offset == Offset(4))
    }

    /// The scenario of issue 9: an acknowledged batch that rots before its index entry reached the disk
    /// used to be cut silently as a torn write.
    @Test func damageBelowTheRecoveryPointIsCorruptionNotATornTail() async throws {
        let dir = TemporaryDirectory()
        let entries = try await Self.fiveBatches(dir.path)
        try Self.forgetLastIndexEntry(dir.path, entries)
        let segment = try segmentPaths(dir.path)[0]
        let size = fileSize(segment)
        flipBit(segment, at: entries[4].position + 70)
        let error = #expect(throws: EventLogError.self) { try openWriter(dir.path) }
        #expect(error?.code == .corruption)
        #expect(error?.position == entries[4].position)
        #expect(fileSize(segment) == size, "durable bytes were cut")
        // A reader reports the same damage.
        #expect(throws: EventLogError.self) { try openReader(dir.path) }
    }

    /// Above the recovery point a complete but corrupt last batch that the index does not name was
    /// never acknowledged: it is a torn write and is cut.
    @Test func corruptLastBatchAboveTheRecoveryPointIsCutAsTorn() async throws {
        let dir = TemporaryDirectory()
        let entries = try await Self.fiveBatches(dir.path)
        try Self.forgetLastIndexEntry(dir.path, entries)
        setRecoveryPoint(dir.path, to: entries[4].baseOffset)
        let segment = try segmentPaths(dir.path)[0]
        flipBit(segment, at: entries[4].position + 70)
        let log = try openWriter(dir.path)
        #expect(log.endOffset == entries[4].baseOffset)
        #expect(fileSize(segment) == entries[4].position)
        #expect(log.recovery.truncated?.position == entries[4].position)
        await log.close()
    }

    @Test func segmentShorterThanTheRecoveryPointIsCorruption() async throws {
        let dir = TemporaryDirectory()
        let entries = try await Self.fiveBatches(dir.path)
        try Self.forgetLastIndexEntry(dir.path, entries)
        let segment = try segmentPaths(dir.path)[0]
        truncateFile(segment, to: entries[4].position)
        let error = #expect(throws: EventLogError.self) { try openWriter(dir.path) }
        #expect(error?.code == .corruption)
        #expect(error?.message.contains("durable") == true)
    }

    @Test func aTornRecoveryPointSlotFallsBackToTheOther() {
        let older = RecoveryPoint(offset: Offset(10), sequence: 6)
        let newer = RecoveryPoint(offset: Offset(20), sequence: 7)
        var bytes = older.encode() + newer.encode()
        #expect(RecoveryPoint.decode(file: bytes) == newer)
        bytes[RecoveryPoint.slotSize + 17] ^= 0x40
        #expect(RecoveryPoint.decode(file: bytes) == older)
        #expect(RecoveryPoint.decode(file: Array(bytes.prefix(10))) == nil)
    }
}
