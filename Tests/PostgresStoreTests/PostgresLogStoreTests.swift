import EventLog
import Foundation
import PostgresNIO
import TallyTesting
import Testing

@testable import PostgresStore

/// One integer from a query, through the store's own pool.
func scalar(_ store: PostgresLogStore, _ query: PostgresQuery) async throws -> Int64 {
    var value: Int64 = -1
    for try await v in try await store.client.query(query).decode(Int64.self) { value = v }
    return value
}

@Suite(.timeLimit(.minutes(3))) struct PostgresLogStoreTests {
    @Test func createsTheSchemaOnceAndMigratingAgainChangesNothing() async throws {
        try await withStore(partitions: 8) { store, url in
            #expect(store.partitionCount == 8)
            #expect(try await scalar(store, "SELECT count(*) FROM tally_schema_migrations") == 4)
            // Batch bytes (LZ4 already) are stored without PostgreSQL compressing them again.
            #expect(
                try await scalar(
                    store,
                    """
                    SELECT count(*) FROM pg_attribute
                    WHERE attrelid = 'tally_batches'::regclass AND attname = 'bytes' AND attstorage = 'e'
                    """) == 1)
            // A second store on the same database (another machine) finds the schema current.
            let before = try await withStore(url: url, partitions: nil) { other in
                #expect(other.partitionCount == 8)
                return try await other.prepare()
            }
            #expect(before == 4)
            #expect(try await scalar(store, "SELECT count(*) FROM tally_schema_migrations") == 4)
            // Another partition count is refused, and changes nothing.
            await #expect {
                try await withStore(url: url, partitions: 16) { _ in }
            } throws: { ($0 as? EventLogError)?.code == .invalidArgument }
            #expect(try await scalar(store, "SELECT value::bigint FROM tally_meta WHERE name = 'partition_count'") == 8)
        }
    }

    @Test func refusesADatabaseWithoutTallyDataWhenNoPartitionCountIsGiven() async throws {
        let url = try makeDatabase()
        await #expect {
            try await withStore(url: url, partitions: nil) { _ in }
        } throws: { ($0 as? EventLogError)?.code == .notFound }
    }

    /// A store nobody listens at is an error at once, naming the store and the cause, not a process
    /// waiting while the pool retries in the background.
    @Test func aStoreThatCannotBeReachedIsAClearErrorAtOnce() async throws {
        let port = try freeLoopbackPort()
        let started = ContinuousClock.now
        await #expect {
            try await withStore(url: "postgres://postgres@127.0.0.1:\(port)/nothing", partitions: 4) { _ in }
        } throws: { error in
            let text = "\(error)"
            return (error as? EventLogError)?.code == .io && text.contains("127.0.0.1:\(port)/nothing")
                && text.contains("refused")
        }
        #expect(started.duration(to: .now) < .seconds(10))
    }

    @Test func refusesABadURLWithAClearError() throws {
        for url in [
            "mysql://x@h/db", "postgres:///db", "postgres://u@h", "postgres://u@h/db?sslmode=maybe",
            "postgres://u@h/db?appends_in_flight=0", "postgres://u@h/db?appends_in_flight=many",
        ] {
            #expect(throws: EventLogError.self) { try PostgresStoreConfiguration(url: url) }
        }
        let parsed = try PostgresStoreConfiguration(
            url: "postgres://tally:s%40cret@db.internal:6543/tally?sslmode=require")
        #expect(parsed.password == "s@cret")
        #expect(parsed.port == 6543)
        #expect(parsed.redacted == "postgres://tally@db.internal:6543/tally")
        #expect(parsed.appendsInFlight == 4)
        #expect(try PostgresStoreConfiguration(url: "postgres://u@h/db?appends_in_flight=8").appendsInFlight == 8)
    }

    @Test func storesEachBatchAsOneRowInTheSegmentFormatAndReadsItBack() async throws {
        try await withStore { store, _ in
            let partition = PartitionID(1)
            let log = try await store.openForWriting(
                partition: partition, epoch: Epoch(1), configuration: .init(), logger: testLogger)
            var expected: [Record] = []
            for i in 0..<20 {
                let records = (0..<5).map {
                    makeRecord(guild: UInt64(100 + ($0 + i) % 3), sequence: UInt64(i * 5 + $0))
                }
                expected += records
                let range = try await log.append(records)
                #expect(range == Offset(UInt64(i * 5))..<Offset(UInt64(i * 5 + 5)))
            }
            #expect(log.endOffset == Offset(100))
            let all = try await log.collect(LogQuery())
            #expect(all.map(\.record) == expected)
            #expect(all.map(\.offset) == (0..<100).map { Offset(UInt64($0)) })
            // Each row holds a whole batch: magic, format version, its own header fields and checksum.
            var decoder = BatchDecoder()
            for try await (base, count, epoch, bytes) in try await store.client.query(
                "SELECT base_offset, record_count, epoch, bytes FROM tally_batches WHERE partition = 1 ORDER BY base_offset"
            ).decode((Int64, Int32, Int64, ByteBuffer).self) {
                let raw = Array(buffer: bytes)
                #expect(Array(raw.prefix(4)) == Array("TLYB".utf8))
                let header = try StoredBatch.decode(
                    raw, base: Offset(UInt64(base)), count: Int(count), epoch: Epoch(UInt64(epoch)), location: "test",
                    decoder: &decoder
                ) { _ in }
                #expect(header.codec == .lz4 || header.codec == .none)
            }
            #expect(try await scalar(store, "SELECT count(*) FROM tally_batches") == 20)
            // Appends do not touch the partition row (several are in flight at once)…
            #expect(try await scalar(store, "SELECT next_offset FROM tally_partitions WHERE partition = 1") == 0)
            // Guild and time reads return exactly the selected records.
            let guild = try await log.collect(LogQuery(guild: GuildID(101)))
            #expect(guild.map(\.record) == expected.filter { $0.guild == GuildID(101) })
            let since = Timestamp(milliseconds: 1_700_000_000_050)
            let recent = try await log.collect(LogQuery(since: since))
            #expect(recent.map(\.record) == expected.filter { $0.timestamp >= since })
            let window = try await log.collect(LogQuery(from: Offset(7), to: Offset(23), limit: 10))
            #expect(window.map(\.offset) == (7..<17).map { Offset(UInt64($0)) })
            await log.close()
            // …the owner records its acknowledged end there when it closes.
            #expect(try await scalar(store, "SELECT next_offset FROM tally_partitions WHERE partition = 1") == 100)

            let reader = try await store.openForReading(partition: partition, logger: testLogger)
            #expect(reader.endOffset == Offset(100))
            #expect(reader.newestEpoch == Epoch(1))
            #expect(try await reader.collect(LogQuery()).map(\.record) == expected)
            await #expect {
                try await reader.append([makeRecord(guild: 1, sequence: 1)])
            } throws: { ($0 as? EventLogError)?.code == .invalidArgument }
            await #expect {
                try await store.openForReading(partition: PartitionID(0), logger: testLogger)
            } throws: { ($0 as? EventLogError)?.code == .notFound }
            await #expect {
                try await store.openForWriting(
                    partition: PartitionID(4), epoch: Epoch(1), configuration: .init(), logger: testLogger)
            } throws: { ($0 as? EventLogError)?.code == .invalidArgument }
        }
    }

    @Test func guildReadsSkipBatchesWithoutTheGuildInTheDatabase() async throws {
        try await withStore { store, _ in
            let log = try await store.openForWriting(
                partition: PartitionID(0), epoch: Epoch(1), configuration: .init(), logger: testLogger)
            // 50 batches of guild 7, one batch holding guild 9, then a batch of 40 guilds (a Bloom filter).
            for i in 0..<50 { _ = try await log.append([makeRecord(guild: 7, sequence: UInt64(i))]) }
            _ = try await log.append([makeRecord(guild: 9, sequence: 1)])
            _ = try await log.append((0..<40).map { makeRecord(guild: 1000 + UInt64($0), sequence: 1) })
            #expect(try await scalar(store, "SELECT count(*) FROM tally_batches WHERE bloom_words IS NOT NULL") == 1)
            let page = try await log.readPage(LogQuery(guild: GuildID(9)), maxBatches: 64)
            #expect(page.records.map(\.record.guild) == [GuildID(9)])
            // The guild-9 batch and the Bloom batch (which may hold anyone): never the 50 others.
            #expect(page.statistics.batchesRead == 2)
            let bloomGuild = try await log.collect(LogQuery(guild: GuildID(1017)))
            #expect(bloomGuild.map(\.offset) == [Offset(51 + 17)])
            await log.close()
        }
    }

    @Test func concurrentAppendsAreGroupCommittedInOrder() async throws {
        try await withStore { store, _ in
            let log = try await store.openForWriting(
                partition: PartitionID(3), epoch: Epoch(1), configuration: .init(), logger: testLogger)
            let ranges = try await withThrowingTaskGroup(of: Range<Offset>.self) { group in
                for i in 0..<400 {
                    group.addTask {
                        try await log.append([
                            makeRecord(guild: UInt64(i % 5), sequence: UInt64(2 * i)),
                            makeRecord(guild: UInt64(i % 5), sequence: UInt64(2 * i + 1)),
                        ])
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            // Every append got two adjacent offsets; together they tile 0..<800 without overlap.
            #expect(ranges.allSatisfy { $0.count == 2 })
            #expect(ranges.map(\.lowerBound).sorted() == stride(from: 0, to: 800, by: 2).map { Offset(UInt64($0)) })
            let batches = try await scalar(store, "SELECT count(*) FROM tally_batches WHERE partition = 3")
            #expect(batches < 400, "400 concurrent appends should share transactions, took \(batches)")
            // The records of one append are never split across batches.
            let split = try await scalar(
                store, "SELECT count(*) FROM tally_batches WHERE partition = 3 AND base_offset % 2 = 1")
            #expect(split == 0)
            #expect(try await log.collect(LogQuery()).count == 800)
            await log.close()
        }
    }

    @Test func aStaleOwnersAppendIsRefusedByTheDatabaseAndLeavesNothing() async throws {
        let url = try makeDatabase()
        // Two stores on one database: two machines, each believing it owns partition 2.
        try await withStore(url: url) { machineA in
            try await withStore(url: url) { machineB in
                let partition = PartitionID(2)
                let old = try await machineA.openForWriting(
                    partition: partition, epoch: Epoch(1), configuration: .init(), logger: testLogger)
                #expect(old.epoch == Epoch(1))
                _ = try await old.append([makeRecord(guild: 5, sequence: 1), makeRecord(guild: 5, sequence: 2)])

                // The new owner raises the epoch in the database, even when granted an older one.
                let new = try await machineB.openForWriting(
                    partition: partition, epoch: Epoch(1), configuration: .init(), logger: testLogger)
                #expect(new.epoch == Epoch(2))
                #expect(new.endOffset == Offset(2))

                // The old owner, paused meanwhile, tries to append: the database refuses it.
                await #expect {
                    try await old.append([makeRecord(guild: 5, sequence: 3)])
                } throws: { ($0 as? EventLogError)?.code == .staleEpoch }
                // …and every later append, without another round trip deciding otherwise.
                await #expect {
                    try await old.append([makeRecord(guild: 5, sequence: 4)])
                } throws: { ($0 as? EventLogError)?.code == .staleEpoch }

                let range = try await new.append([makeRecord(guild: 5, sequence: 3)])
                #expect(range == Offset(2)..<Offset(3))
                #expect(try await scalar(machineA, "SELECT count(*) FROM tally_batches WHERE epoch = 1") == 1)
                #expect(try await scalar(machineA, "SELECT count(*) FROM tally_batches WHERE epoch = 2") == 1)
                let records = try await new.collect(LogQuery())
                #expect(records.map(\.record.sequence) == [1, 2, 3])
                #expect(try await scalar(machineA, "SELECT epoch FROM tally_partitions WHERE partition = 2") == 2)
                // A coordinator's newer grant is honoured.
                await new.close()
                await old.close()
                let third = try await machineA.openForWriting(
                    partition: partition, epoch: Epoch(9), configuration: .init(), logger: testLogger)
                #expect(third.epoch == Epoch(9))
                await third.close()
            }
        }
    }

    @Test func snapshotsLiveInTheDatabaseAndOnlyTheOwnerWritesThem() async throws {
        try await withStore { store, url in
            let partition = PartitionID(0)
            let log = try await store.openForWriting(
                partition: partition, epoch: Epoch(1), configuration: .init(), logger: testLogger)
            guard let epoch = log.epoch else { return #expect(Bool(false)) }
            for offset in [10, 20, 30] as [UInt64] {
                try await store.writeSnapshot(
                    Array("at \(offset)".utf8), partition: partition, offset: Offset(offset), epoch: epoch)
            }
            // Another machine sees them: the two newest, newest first.
            let seen = try await withStore(url: url) { other in try await other.snapshots(of: partition) }
            #expect(seen.map(\.offset) == [Offset(30), Offset(20)])
            #expect(seen.first?.bytes == Array("at 30".utf8))
            // After another owner took the partition, the old one's snapshot is refused.
            let next = try await store.openForWriting(
                partition: partition, epoch: Epoch(1), configuration: .init(), logger: testLogger)
            await #expect {
                try await store.writeSnapshot([1, 2, 3], partition: partition, offset: Offset(40), epoch: epoch)
            } throws: { ($0 as? EventLogError)?.code == .staleEpoch }
            #expect(try await store.snapshots(of: partition).map(\.offset) == [Offset(30), Offset(20)])
            await next.close()
            await log.close()
        }
    }
}
