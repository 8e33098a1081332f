import EventLog
import Foundation
import PostgresNIO
import TallyTesting
import Testing

@testable import PostgresStore

@Suite(.timeLimit(.minutes(3))) struct MigrationTests {
    /// Writes two partitions over two epochs with small segments, and a snapshot file.
    func makeDataDirectory(_ temp: TemporaryDirectory) async throws -> DataDirectory {
        let data = try DataDirectory.open(path: temp.sub("files"), creatingWith: 4)
        var configuration = PartitionLog.Configuration()
        configuration.segmentMaxBytes = 2048
        for partition in [PartitionID(0), PartitionID(2)] {
            for (epoch, range) in [(Epoch(1), 0..<60), (Epoch(3), 60..<100)] {
                let log = try PartitionLog.openForWriting(
                    directory: data.directory(of: partition), partition: partition, epoch: epoch,
                    configuration: configuration, logger: testLogger)
                for i in range {
                    _ = try await log.append([makeRecord(guild: UInt64(i % 4), sequence: UInt64(i), size: 40)])
                }
                await log.close()
            }
        }
        try await FileLogStore(data: data).writeSnapshot(
            Array("snapshot".utf8), partition: PartitionID(2), offset: Offset(80), epoch: Epoch(3))
        return data
    }

    /// Every batch of a file partition, back to back, in order.
    func batchBytes(_ data: DataDirectory, _ partition: PartitionID) throws -> [UInt8] {
        let log = try PartitionLog.openForReading(
            directory: data.directory(of: partition), partition: partition, logger: testLogger)
        return try log.state.values.withLock { v in v.segments }.flatMap { segment in
            try segment.entries.flatMap { entry -> [UInt8] in
                var buffer: [UInt8] = []
                try segment.file.readBatch(entry, into: &buffer)
                return buffer
            }
        }
    }

    @Test func copiesADataDirectoryIntoPostgresAndBackInTheSameBytes() async throws {
        let temp = TemporaryDirectory()
        let source = try await makeDataDirectory(temp)
        try await withStore { store, _ in
            for partition in source.existingPartitions {
                let report = try await store.importPartition(from: source, partition: partition, logger: testLogger)
                #expect(report.batches == 100)
                #expect(report.records == 100)
                #expect(report.end == Offset(100))
                let verified = try await store.verify(partition: partition)
                #expect(verified.findings.isEmpty, "\(verified.findings)")
                #expect(verified.epochs.map(\.epoch) == [Epoch(1), Epoch(3)])
            }
            #expect(try await store.snapshots(of: PartitionID(2)).map(\.offset) == [Offset(80)])
            // The store's owner continues after the copied history, fenced above its epochs.
            let log = try await store.openForWriting(
                partition: PartitionID(0), epoch: .initial, configuration: .init(), logger: testLogger)
            #expect(log.epoch == Epoch(4))
            #expect(log.endOffset == Offset(100))
            await log.close()
            // Copying again is refused and changes nothing.
            await #expect {
                try await store.importPartition(from: source, partition: PartitionID(0), logger: testLogger)
            } throws: { ($0 as? EventLogError)?.code == .invalidArgument }
            #expect(try await scalar(store, "SELECT count(*) FROM tally_batches WHERE partition = 0") == 100)

            let back = try DataDirectory.open(path: temp.sub("back"), creatingWith: 4)
            for partition in source.existingPartitions {
                let report = try await store.exportPartition(partition, to: back, logger: testLogger)
                #expect(report.batches == 100)
                #expect(try batchBytes(back, partition) == batchBytes(source, partition))
                let verified = try LogVerifier.verify(directory: back.directory(of: partition), partition: partition)
                #expect(!verified.isCorrupt)
            }
            #expect(try await FileLogStore(data: back).snapshots(of: PartitionID(2)).map(\.offset) == [Offset(80)])
        }
    }

    @Test func verifyAndReadsReportADamagedRowAsCorruption() async throws {
        let temp = TemporaryDirectory()
        let source = try await makeDataDirectory(temp)
        try await withStore { store, _ in
            _ = try await store.importPartition(from: source, partition: PartitionID(0), logger: testLogger)
            try await store.client.query(
                """
                UPDATE tally_batches SET bytes = set_byte(bytes, 70, get_byte(bytes, 70) # 1)
                WHERE partition = 0 AND base_offset = 42
                """)
            let report = try await store.verify(partition: PartitionID(0))
            #expect(report.isCorrupt)
            #expect(report.findings.contains { $0.message.contains("offset 42") && $0.message.contains("checksum") })
            let log = try await store.openForReading(partition: PartitionID(0), logger: testLogger)
            await #expect {
                try await log.collect(LogQuery())
            } throws: { ($0 as? EventLogError)?.code == .corruption }
            // A gap in the offsets is corruption too.
            try await store.client.query("DELETE FROM tally_batches WHERE partition = 0 AND base_offset = 10")
            let gap = try await store.verify(partition: PartitionID(0))
            #expect(gap.findings.contains { $0.message.contains("starts at offset 11") })
        }
    }
}
