import ArgumentParser
import EventLog
import Foundation
import Logging
import PostgresStore

struct StoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Manage where partition logs are kept: a data directory or PostgreSQL.",
        subcommands: [MigrateStore.self]
    )
}

/// `tally store migrate --from DIR --to postgres://…` and back.
struct MigrateStore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Copy every partition log (and its snapshots) between a data directory and PostgreSQL.",
        discussion: """
            Batches keep their bytes: each is checked before it is copied and read back and compared \
            byte for byte afterwards. The destination's partitions must be empty; no process may write \
            to the source meanwhile. Read models are not copied: shards rebuild them from the log.
            """
    )

    @Option(help: "The source: a data directory or postgres://USER@HOST:PORT/DATABASE.")
    var from: String

    @Option(help: "The destination: the other kind.")
    var to: String

    @OptionGroup var logging: LoggingOptions

    static func isPostgres(_ location: String) -> Bool {
        location.hasPrefix("postgres://") || location.hasPrefix("postgresql://")
    }

    func validate() throws {
        guard MigrateStore.isPostgres(from) != MigrateStore.isPostgres(to) else {
            throw ValidationError("one of --from and --to must be a data directory and the other a postgres:// URL")
        }
    }

    func run() async throws {
        let logger = logging.makeLogger()
        let started = ContinuousClock.now
        var total = PartitionCopyReport(partition: PartitionID(0))
        if MigrateStore.isPostgres(to) {
            let data = try openDataDirectory(from)
            try await withPostgresStore(url: to, partitionCount: data.partitionCount, logger: logger) { store in
                print("copying \(data.existingPartitions.count) partition(s) from \(data.path) to \(store.location)")
                for partition in data.existingPartitions {
                    let report = try await store.importPartition(from: data, partition: partition, logger: logger)
                    MigrateStore.show(report, into: &total)
                }
            }
        } else {
            try await withPostgresStore(url: from, logger: logger) { store in
                let data: DataDirectory
                do {
                    data = try DataDirectory.open(path: to, creatingWith: store.partitionCount)
                } catch {
                    throw ValidationError("\(error)")
                }
                let partitions = try await store.existingPartitions()
                print("copying \(partitions.count) partition(s) from \(store.location) to \(data.path)")
                for partition in partitions {
                    let report = try await store.exportPartition(partition, to: data, logger: logger)
                    MigrateStore.show(report, into: &total)
                }
            }
        }
        let seconds =
            Double((ContinuousClock.now - started).components.attoseconds) / 1e18
            + Double((ContinuousClock.now - started).components.seconds)
        Swift.print(
            "total: \(total.batches) batches, \(total.records) records, \(formatBytes(Int64(total.bytes))), "
                + "\(total.snapshots) snapshot(s) copied and verified in \(String(format: "%.2f", seconds)) s")
    }

    private static func show(_ report: PartitionCopyReport, into total: inout PartitionCopyReport) {
        Swift.print(
            "partition \(report.partition): \(report.batches) batches, \(report.records) records "
                + "(end offset \(report.end)), \(report.snapshots) snapshot(s) — verified")
        total.batches += report.batches
        total.records += report.records
        total.bytes += report.bytes
        total.snapshots += report.snapshots
    }
}
