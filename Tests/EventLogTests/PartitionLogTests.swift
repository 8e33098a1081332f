import Foundation
import TallyTesting
import Testing

@testable import EventLog

@Suite(.timeLimit(.minutes(5))) struct PartitionLogTests {
    @Test(arguments: [UInt64(1), 2, 3])
    func roundTripsRandomRecordSizesAcrossBatchAndSegmentBoundaries(seed: UInt64) async throws {
        let dir = TemporaryDirectory()
        var rng = SplitMix64(seed: seed)
        // Sizes from 0 B to 1 MiB, mostly small, as events are.
        let records = (0..<300).map { i -> Record in
            let roll = rng.next() % 100
            let size =
                roll < 70
                ? Int(rng.next() % 200) : roll < 95 ? Int(rng.next() % 20_000) : Int(rng.next() % (1 << 20 + 1))
            return makeRecord(guild: 1 + rng.next() % 20, sequence: UInt64(i), size: size, writer: UInt32(seed))
        }
        let log = try openWriter(dir.path, segmentBytes: 1 << 20, batchBytes: 64 << 10)
        // Concurrent appenders of one to four records each, so group commit forms mixed batches.
        var calls: [[Record]] = []
        var i = 0
        while i < records.count {
            let n = min(records.count - i, 1 + Int(rng.next() % 4))
            calls.append(Array(records[i..<(i + n)]))
            i += n
        }
        let ranges = try await withThrowingTaskGroup(of: (Int, Range<Offset>).self) { group in
            for (index, call) in calls.enumerated() {
                group.addTask { (index, try await log.append(call)) }
            }
            var out = [Range<Offset>?](repeating: nil, count: calls.count)
            for try await (index, range) in group { out[index] = range }
            return out.map { $0! }
        }
        // Every call's records got a contiguous range of its own, and the ranges tile the log.
        #expect(ranges.map(\.count).reduce(0, +) == records.count)
        #expect(Set(ranges.flatMap { $0.map(\.rawValue) }).count == records.count)
        let stats = log.statistics
        #expect(stats.segments > 1, "seed \(seed): expected several segments, got \(stats.segments)")
        #expect(stats.batches > 1)
        await log.close()

        for reader in [try openReader(dir.path), try openWriter(dir.path, segmentBytes: 1 << 20)] {
            let stored = try reader.records(LogQuery())
            #expect(stored.count == records.count)
            for (call, range) in zip(calls, ranges) {
                let got = stored[Int(range.lowerBound.rawValue)..<Int(range.upperBound.rawValue)].map(\.record)
                #expect(got == call, "seed \(seed): records at \(range) differ")
            }
            // Reads from arbitrary offsets start exactly there.
            for _ in 0..<10 {
                let from = Int(rng.next() % UInt64(records.count))
                let limit = 1 + Int(rng.next() % 50)
                let slice = try reader.records(LogQuery(from: Offset(UInt64(from)), limit: limit))
                #expect(slice == Array(stored[from..<min(records.count, from + limit)]))
            }
            await reader.close()
        }
    }

    @Test func truncatesTornTailOnRecoveryAtEveryByte() async throws {
        let dir = TemporaryDirectory()
        let log = try openWriter(dir.path)
        var appended: [Record] = []
        for i in 0..<5 {
            let batch = (0..<3).map { makeRecord(guild: 5, sequence: UInt64(i * 3 + $0), size: 40) }
            _ = try await log.append(batch)
            appended += batch
        }
        await log.close()
        let segment = try segmentPaths(dir.path)[0]
        let pristine = try Data(contentsOf: URL(fileURLWithPath: segment))
        let index = try Data(contentsOf: URL(fileURLWithPath: dir.path + "/00000000000000000000.index"))
        let entries = SegmentIndexFile.load(path: dir.path + "/00000000000000000000.index", baseOffset: .zero)!
        let last = entries.last!
        // The index only learns of a batch after it is durable, so a torn batch is never indexed; nor
        // is it below the recovery point, which only ever names durable offsets.
        let indexBeforeLast = index.prefix(index.count - (index.count - SegmentIndexFile.headerSize) / entries.count)
        setRecoveryPoint(dir.path, to: last.baseOffset)
        for cut in last.position..<last.end {
            try pristine.prefix(Int(cut)).write(to: URL(fileURLWithPath: segment))
            try indexBeforeLast.write(to: URL(fileURLWithPath: dir.path + "/00000000000000000000.index"))
            let recovered = try openWriter(dir.path)
            #expect(recovered.endOffset == last.baseOffset, "cut at byte \(cut)")
            #expect(fileSize(segment) == last.position, "cut at byte \(cut): tail not truncated")
            #expect(try recovered.records(LogQuery()).map(\.record) == Array(appended.prefix(12)))
            await recovered.close()
        }
        // After recovery the log takes appends again, right where the complete batches end.
        let again = try openWriter(dir.path)
        let range = try await again.append([makeRecord(guild: 5, sequence: 99, size: 10)])
        #expect(range == Offset(12)..<Offset(13))
        await again.close()
    }

    @Test func detectsABitFlipAnywhereInASealedBatch() async throws {
        let dir = TemporaryDirectory()
        let log = try openWriter(dir.path, segmentBytes: 600)
        for i in 0..<12 {
            _ = try await log.append([makeRecord(guild: UInt64(i % 3 + 1), sequence: UInt64(i), size: 150)])
        }
        await log.close()
        let segments = try segmentPaths(dir.path)
        #expect(segments.count >= 3)
        let sealed = segments[0]
        let entries = SegmentIndexFile.load(
            path: sealed.replacingOccurrences(of: ".log", with: ".index"), baseOffset: .zero)!
        let target = entries[entries.count - 1]
        for position in target.position..<target.end {
            flipBit(sealed, at: position, bit: UInt8(position % 8))
            defer { flipBit(sealed, at: position, bit: UInt8(position % 8)) }
            let report = try LogVerifier.verify(directory: dir.path, partition: PartitionID(0))
            #expect(report.isCorrupt, "flip at byte \(position) not detected by verify")
            #expect(
                report.findings.contains {
                    $0.path == sealed && $0.position == target.position && $0.severity == .corruption
                },
                "flip at byte \(position): \(report.findings)")
            let reader = try openReader(dir.path)
            do {
                _ = try reader.records(LogQuery())
                Issue.record("flip at byte \(position): read did not fail")
            } catch let error as EventLogError {
                #expect(error.code == .corruption)
                #expect(error.path == sealed)
                #expect(error.position == target.position)
            }
        }
        #expect(try LogVerifier.verify(directory: dir.path, partition: PartitionID(0)).findings.isEmpty)
    }

    @Test func refusesToTruncateDamageInTheMiddleOfTheActiveSegment() async throws {
        let dir = TemporaryDirectory()
        let log = try openWriter(dir.path)
        for i in 0..<6 { _ = try await log.append([makeRecord(guild: 1, sequence: UInt64(i), size: 100)]) }
        await log.close()
        let segment = try segmentPaths(dir.path)[0]
        let entries = SegmentIndexFile.load(path: dir.path + "/00000000000000000000.index", baseOffset: .zero)!
        flipBit(segment, at: entries[2].position + 70)
        let size = fileSize(segment)
        #expect {
            try openWriter(dir.path)
        } throws: { error in
            let e = error as! EventLogError
            return e.code == .corruption && e.path == segment && e.position == entries[2].position
        }
        #expect(fileSize(segment) == size, "acknowledged batches were truncated")
        // Without the index the same damage is still told apart from a torn tail by the valid batches after it.
        try FileManager.default.removeItem(atPath: dir.path + "/00000000000000000000.index")
        #expect(throws: EventLogError.self) { try openWriter(dir.path) }
        #expect(fileSize(segment) == size)
    }

    @Test func rebuildsMissingOrStaleIndexes() async throws {
        let dir = TemporaryDirectory()
        let log = try openWriter(dir.path, segmentBytes: 2000)
        for i in 0..<40 { _ = try await log.append([makeRecord(guild: UInt64(i % 4), sequence: UInt64(i), size: 120)]) }
        let expected = try log.records(LogQuery())
        await log.close()
        let indexes = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".index") }
            .sorted()
        try FileManager.default.removeItem(atPath: dir.path + "/" + indexes[0])
        truncateFile(dir.path + "/" + indexes[1], to: 40)
        let reopened = try openWriter(dir.path, segmentBytes: 2000)
        #expect(try reopened.records(LogQuery()) == expected)
        #expect(try reopened.records(LogQuery(guild: GuildID(3))) == expected.filter { $0.record.guild == GuildID(3) })
        await reopened.close()
        #expect(try LogVerifier.verify(directory: dir.path, partition: PartitionID(0)).findings.isEmpty)
    }

    @Test func readsOneGuildExactlyAndSkipsBatchesWithoutIt() async throws {
        let dir = TemporaryDirectory()
        let log = try openWriter(dir.path)
        var rng = SplitMix64(seed: 11)
        var batchesWithGuild = 0
        var all: [Record] = []
        for i in 0..<200 {
            let guilds = (0..<(1 + Int(rng.next() % 4))).map { _ in 1 + rng.next() % 10 }
            let records = guilds.enumerated().map { makeRecord(guild: $1, sequence: UInt64(i * 10 + $0), size: 30) }
            if guilds.contains(7) { batchesWithGuild += 1 }
            _ = try await log.append(records)  // one at a time: one batch per call
            all += records
        }
        #expect(log.statistics.batches == 200)
        var seen: [StoredRecord] = []
        let stats = try log.read(LogQuery(guild: GuildID(7))) { seen.append(StoredRecord($0)) }
        #expect(seen.map(\.record) == all.filter { $0.guild == GuildID(7) })
        #expect(seen.map(\.offset) == seen.map(\.offset).sorted())
        #expect(stats.batchesRead == batchesWithGuild)
        #expect(stats.batchesSkipped == 200 - batchesWithGuild)
        #expect(stats.records == seen.count)

        // Big batches use a Bloom filter: still exact results, and most batches without the guild skipped.
        let big = TemporaryDirectory()
        let bigLog = try openWriter(big.path)
        var bigAll: [Record] = []
        for b in 0..<100 {
            var records = (0..<100).map {
                makeRecord(guild: 1000 + UInt64(b * 100 + $0), sequence: UInt64($0), size: 20)
            }
            if b % 10 == 0 { records.append(makeRecord(guild: 42, sequence: UInt64(b), size: 20)) }
            _ = try await bigLog.append(records)
            bigAll += records
        }
        let bigSeen = try bigLog.records(LogQuery(guild: GuildID(42)))
        #expect(bigSeen.map(\.record) == bigAll.filter { $0.guild == GuildID(42) })
        let bigStats = try bigLog.read(LogQuery(guild: GuildID(42))) { _ in }
        #expect(bigStats.batchesRead >= 10 && bigStats.batchesRead <= 20, "\(bigStats)")
        await log.close()
        await bigLog.close()
    }

    @Test func readsFromATimestampAndWithinOffsetRanges() async throws {
        let dir = TemporaryDirectory()
        let log = try openWriter(dir.path)
        for i in 0..<50 {
            _ = try await log.append([makeRecord(guild: 1, sequence: UInt64(i), size: 20, time: 1_000 + Int64(i) * 100)]
            )
        }
        let since = try log.records(LogQuery(since: Timestamp(milliseconds: 3_050)))
        #expect(since.map(\.offset.rawValue) == Array(21..<50))
        #expect(log.offset(atOrAfter: Timestamp(milliseconds: 3_050)) == Offset(21))
        let window = try log.records(LogQuery(from: Offset(10), to: Offset(15)))
        #expect(window.map(\.offset.rawValue) == Array(10..<15))
        await log.close()
    }

    @Test func refusesAStaleEpoch() async throws {
        let dir = TemporaryDirectory()
        let log = try openWriter(dir.path, epoch: 2)
        _ = try await log.append([makeRecord(guild: 1, sequence: 1, size: 10)])
        await log.close()
        #expect { try openWriter(dir.path, epoch: 1) } throws: { ($0 as! EventLogError).code == .staleEpoch }
        // Opening with a newer epoch fences the partition even before it writes anything.
        let newer = try openWriter(dir.path, epoch: 5)
        await newer.close()
        #expect { try openWriter(dir.path, epoch: 3) } throws: { ($0 as! EventLogError).code == .staleEpoch }
        let current = try openWriter(dir.path, epoch: 5)
        _ = try await current.append([makeRecord(guild: 1, sequence: 2, size: 10)])
        #expect(current.newestEpoch == Epoch(5))
        await current.close()
        // The epoch is stamped in every batch: a fence lost from the manifest is restored from the data.
        try FileManager.default.removeItem(atPath: dir.path + "/manifest.json")
        #expect { try openWriter(dir.path, epoch: 4) } throws: { ($0 as! EventLogError).code == .staleEpoch }
    }

    @Test func verifyListsWhereEachEpochBegins() async throws {
        let dir = TemporaryDirectory()
        for (epoch, count) in [(UInt64(2), 3), (3, 2), (7, 1)] {
            let log = try openWriter(dir.path, epoch: epoch)
            for i in 0..<count { _ = try await log.append([makeRecord(guild: 1, sequence: UInt64(i), size: 10)]) }
            await log.close()
        }
        let report = try LogVerifier.verify(directory: dir.path, partition: PartitionID(0))
        #expect(report.findings.isEmpty)
        #expect(report.epochs.map(\.epoch) == [Epoch(2), Epoch(3), Epoch(7)])
        #expect(report.epochs.map(\.offset) == [Offset(0), Offset(3), Offset(5)])
    }

    @Test func refusesASecondWriterInTheSameProcess() async throws {
        let dir = TemporaryDirectory()
        let first = try openWriter(dir.path)
        #expect { try openWriter(dir.path) } throws: { error in
            let e = error as! EventLogError
            return e.code == .locked && e.message.contains("pid \(getpid())")
        }
        await first.close()
        let second = try openWriter(dir.path)
        await second.close()
    }

    @Test func tailYieldsBatchesAsTheyBecomeDurableAndEndsOnClose() async throws {
        let dir = TemporaryDirectory()
        let log = try openWriter(dir.path)
        _ = try await log.append([makeRecord(guild: 1, sequence: 0, size: 10)])
        let consumer = Task {
            var offsets: [UInt64] = []
            for try await batch in log.tail(from: .zero) {
                offsets += batch.records.map(\.offset.rawValue)
                #expect(batch.epoch == Epoch(1))
            }
            return offsets
        }
        // The writer never waits for the tail: appends complete whether or not it has caught up.
        for i in 1..<20 { _ = try await log.append([makeRecord(guild: 1, sequence: UInt64(i), size: 10)]) }
        try await Task.sleep(for: .milliseconds(100))
        await log.close()
        #expect(try await consumer.value == Array(0..<20))
    }

    @Test func intervalFsyncPolicyAcknowledgesAndPersists() async throws {
        let dir = TemporaryDirectory()
        let log = try openWriter(dir.path, fsync: .interval(.milliseconds(5)))
        for i in 0..<30 { _ = try await log.append([makeRecord(guild: 2, sequence: UInt64(i), size: 64)]) }
        try await Task.sleep(for: .milliseconds(20))
        await log.close()
        #expect(try openReader(dir.path).records(LogQuery()).count == 30)
    }

    @Test func rejectsInvalidAppendsWithoutWriting() async throws {
        let dir = TemporaryDirectory()
        var configuration = PartitionLog.Configuration()
        configuration.maxPayloadBytes = 100
        let log = try PartitionLog.openForWriting(
            directory: dir.path, partition: PartitionID(0), epoch: .initial, configuration: configuration,
            logger: testLogger)
        await #expect { _ = try await log.append([]) } throws: { ($0 as! EventLogError).code == .invalidArgument }
        await #expect { _ = try await log.append([makeRecord(guild: 1, sequence: 1, size: 101)]) } throws: {
            ($0 as! EventLogError).code == .invalidArgument
        }
        #expect(log.endOffset == .zero)
        await log.close()
        await #expect { _ = try await log.append([makeRecord(guild: 1, sequence: 1, size: 10)]) } throws: {
            ($0 as! EventLogError).code == .closed
        }
        let reader = try openReader(dir.path)
        await #expect { _ = try await reader.append([makeRecord(guild: 1, sequence: 1, size: 10)]) } throws: {
            ($0 as! EventLogError).code == .invalidArgument
        }
    }
}
