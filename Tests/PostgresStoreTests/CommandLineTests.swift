import EventLog
import Foundation
import TallyTesting
import Testing

@testable import PostgresStore

@Suite(.timeLimit(.minutes(3))) struct CommandLineTests {
    @Test func migrateVerifyAndInspectWorkAgainstTheStoreAndBack() async throws {
        let temp = TemporaryDirectory()
        let data = try DataDirectory.open(path: temp.sub("files"), creatingWith: 4)
        for partition in [PartitionID(1), PartitionID(3)] {
            let log = try PartitionLog.openForWriting(
                directory: data.directory(of: partition), partition: partition, epoch: .initial, logger: testLogger)
            for i in 0..<30 as Range<UInt64> { _ = try await log.append([makeRecord(guild: 7 + i % 2, sequence: i)]) }
            await log.close()
        }
        let url = try makeDatabase()

        let migrated = try TallyProcess.run(["store", "migrate", "--from", data.path, "--to", url])
        #expect(migrated.status == 0, "\(migrated.output)")
        #expect(migrated.output.contains("total: 60 batches, 60 records"), "\(migrated.output)")
        let verified = try TallyProcess.run(["log", "verify", "--store", url])
        #expect(verified.status == 0, "\(verified.output)")
        #expect(verified.output.contains("0 corrupt partition(s)"), "\(verified.output)")
        // TALLY_STORE stands in for --store when no directory is given.
        let inspected = try TallyProcess.run(
            ["log", "inspect", "--partition", "3", "--guild", "8", "--limit", "3"], environment: ["TALLY_STORE": url])
        #expect(inspected.status == 0, "\(inspected.output)")
        #expect(inspected.output.contains("# 3 record(s) from partition 3 (end offset 30)"), "\(inspected.output)")
        #expect(!inspected.output.contains("guild=7 "), "\(inspected.output)")
        // Migrating again is refused (exit status 1), changing nothing.
        let again = try TallyProcess.run(["store", "migrate", "--from", data.path, "--to", url])
        #expect(again.status != 0)
        #expect(again.output.contains("already holds 30 batches"), "\(again.output)")

        let back = temp.sub("back")
        let returned = try TallyProcess.run(["store", "migrate", "--from", url, "--to", back])
        #expect(returned.status == 0, "\(returned.output)")
        #expect(try TallyProcess.run(["log", "verify", back]).status == 0)

        // A damaged row makes verify exit 1 and name it.
        _ = try await withStore(url: url, partitions: nil) { store in
            try await store.client.query(
                "UPDATE tally_batches SET bytes = set_byte(bytes, 66, get_byte(bytes, 66) # 4) WHERE partition = 3 AND base_offset = 17"
            )
        }
        let damaged = try TallyProcess.run(["log", "verify", "--store", url])
        #expect(damaged.status == 1, "\(damaged.output)")
        #expect(damaged.output.contains("batch at offset 17 is damaged"), "\(damaged.output)")
        // Neither a directory nor a store: a usage error.
        #expect(try TallyProcess.run(["log", "verify"], environment: ["TALLY_STORE": ""]).status != 0)
    }
}
