import Foundation
import TallyTesting
import Testing

@testable import EventLog

@Suite struct FileLogStoreTests {
    @Test func storeHandleAppendsAndReadsInPagesLikeTheLog() async throws {
        let temp = TemporaryDirectory()
        let store = FileLogStore(data: try DataDirectory.open(path: temp.path, creatingWith: 4))
        let partition = PartitionID(2)
        let log = try await store.openForWriting(
            partition: partition, epoch: Epoch(3), configuration: .init(), logger: testLogger)
        #expect(log.epoch == Epoch(3))
        for i in 0..<10 {
            let records = (0..<3).map { makeRecord(guild: UInt64(1 + $0 % 2), sequence: UInt64(i * 3 + $0), size: 20) }
            let range = try await log.append(records)
            #expect(range == Offset(UInt64(i * 3))..<Offset(UInt64(i * 3 + 3)))
        }
        // Pages of two batches walk the whole log in order.
        var seen: [Offset] = []
        var query = LogQuery()
        while true {
            let page = try await log.readPage(query, maxBatches: 2)
            #expect(page.statistics.batchesRead <= 2)
            seen += page.records.map(\.offset)
            if page.isLast { break }
            query.from = page.next
        }
        #expect(seen == (0..<30).map { Offset(UInt64($0)) })
        let guildTwo = try await log.collect(LogQuery(guild: GuildID(2)))
        #expect(guildTwo.allSatisfy { $0.record.guild == GuildID(2) })
        #expect(guildTwo.count == 10)
        let limited = try await log.collect(LogQuery(from: Offset(5), limit: 7))
        #expect(limited.map(\.offset) == (5..<12).map { Offset(UInt64($0)) })
        await log.close()
        #expect(try await store.existingPartitions() == [partition])

        let reader = try await store.openForReading(partition: partition, logger: testLogger)
        #expect(reader.epoch == nil)
        #expect(reader.endOffset == Offset(30))
        #expect(reader.newestEpoch == Epoch(3))
        #expect(try await reader.collect(LogQuery()).count == 30)
    }

    @Test func storeSnapshotsAreNewestFirstAndOnlyTwoAreKept() async throws {
        let temp = TemporaryDirectory()
        let store = FileLogStore(data: try DataDirectory.open(path: temp.path, creatingWith: 2))
        let partition = PartitionID(1)
        for offset in [10, 20, 30] as [UInt64] {
            try await store.writeSnapshot(
                Array("state at \(offset)".utf8), partition: partition, offset: Offset(offset), epoch: Epoch(1))
        }
        let snapshots = try await store.snapshots(of: partition)
        #expect(snapshots.map(\.offset) == [Offset(30), Offset(20)])
        #expect(snapshots.first?.bytes == Array("state at 30".utf8))
        #expect(try await store.snapshots(of: PartitionID(0)).isEmpty)
    }
}
