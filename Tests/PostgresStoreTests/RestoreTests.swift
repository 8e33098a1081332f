import Domain
import EventLog
import Partition
import PostgresStore
import Simulation
import TallyTesting
import Testing

@Suite(.timeLimit(.minutes(3))) struct RestoreTests {
    @Test func anotherMachineRestoresFromTheNewestSnapshotPlusTheBatchesAfterIt() async throws {
        let url = try makeDatabase()
        let partition = PartitionID(0)
        // Machine A owns the partition, applies 3,000 simulated commands and snapshots after 2,000.
        let (expected, snapshotAt) = try await withStore(url: url) { store in
            let log = try await store.openForWriting(
                partition: partition, epoch: .initial, configuration: .init(), logger: testLogger)
            var processor = CommandProcessor()
            var configuration = CommunitySimulator.Configuration()
            configuration.guilds = 5
            var simulator = CommunitySimulator(configuration)
            var snapshotAt = Offset.zero
            for i in 1...3000 {
                let step = simulator.next()
                let outcome = processor.process(step.command, guild: step.guild, context: step.context)
                if !outcome.records.isEmpty { _ = try await log.append(outcome.records) }
                if i == 2000, let epoch = log.epoch {
                    try await processor.model.writeSnapshot(to: store, partition: partition, epoch: epoch)
                    snapshotAt = processor.model.nextOffset
                }
            }
            #expect(log.endOffset == processor.model.nextOffset)
            await log.close()
            return (processor.model, snapshotAt)
        }
        #expect(snapshotAt > .zero)
        // Machine B, with nothing on its disk, acquires it and restores.
        try await withStore(url: url, partitions: nil) { store in
            let log = try await store.openForWriting(
                partition: partition, epoch: .initial, configuration: .init(), logger: testLogger)
            let restore = try await PartitionModel.restore(from: store, log: log)
            #expect(restore.snapshotOffset == snapshotAt)
            #expect(restore.replayed == Int(expected.nextOffset.rawValue - snapshotAt.rawValue))
            #expect(restore.model.nextOffset == expected.nextOffset)
            #expect(restore.model.guilds.count == expected.guilds.count)
            for (guild, state) in expected.guilds {
                #expect(restore.model.state(of: guild) == state, "guild \(guild) differs after restore")
            }
            await log.close()
        }
    }

    @Test func aSnapshotPastTheLogsEndIsIgnored() async throws {
        try await withStore { store, _ in
            let partition = PartitionID(1)
            let log = try await store.openForWriting(
                partition: partition, epoch: .initial, configuration: .init(), logger: testLogger)
            guard let epoch = log.epoch else { return #expect(Bool(false)) }
            // A snapshot claiming events the log never got (offset 50 on an empty log).
            var model = PartitionModel()
            model.advance(to: Offset(50))
            try await model.writeSnapshot(to: store, partition: partition, epoch: epoch)
            let restore = try await PartitionModel.restore(from: store, log: log)
            #expect(restore.snapshotOffset == .zero)
            #expect(restore.model.nextOffset == .zero)
            await log.close()
        }
    }
}
