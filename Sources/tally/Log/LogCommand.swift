import ArgumentParser
import EventLog
import Foundation
import Partition
import PostgresStore
import Projections

struct LogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "Check and read partition logs in a data directory or a PostgreSQL store.",
        subcommands: [VerifyLog.self, InspectLog.self, RepairLog.self, AppendTest.self]
    )
}

/// `tally log verify DIR` or `tally log verify --store postgres://…`
struct VerifyLog: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check every checksum and index of every partition; exit status 1 on corruption."
    )

    @OptionGroup var source: StoreOptions

    @Option(help: "Check only this partition.")
    var partition: UInt32?

    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let logger = logging.makeLogger()
        let corrupt = try await source.withStore(logger: logger) { store in
            var partitions = try await store.existingPartitions()
            if let partition { partitions = [PartitionID(partition)] }
            var totals = LogVerifier.Report(partition: PartitionID(0))
            var corrupt = 0
            print("verifying \(partitions.count) partition(s) in \(store.location)")
            for p in partitions {
                let report = try await VerifyLog.verify(p, in: store)
                let status = report.isCorrupt ? "CORRUPT" : (report.findings.isEmpty ? "ok" : "ok (warnings)")
                let segments = store is FileLogStore ? "\(report.segments) segment(s), " : ""
                print(
                    "partition \(p): \(segments)\(report.batches) batches, \(report.records) records, "
                        + "\(formatBytes(report.bytes)) — \(status)")
                if report.epochs.count > 1 {
                    print(
                        "  epochs: "
                            + report.epochs.map { "\($0.epoch) from offset \($0.offset)" }.joined(separator: ", "))
                }
                for finding in report.findings { print("  \(finding)") }
                totals.segments += report.segments
                totals.batches += report.batches
                totals.records += report.records
                totals.bytes += report.bytes
                if report.isCorrupt { corrupt += 1 }
            }
            let segments = store is FileLogStore ? "\(totals.segments) segment(s), " : ""
            print(
                "total: \(segments)\(totals.batches) batches, \(totals.records) records, "
                    + "\(formatBytes(totals.bytes)); \(corrupt) corrupt partition(s)")
            return corrupt
        }
        if corrupt > 0 { throw ExitCode(1) }
    }

    static func verify(_ partition: PartitionID, in store: any LogStore) async throws -> LogVerifier.Report {
        if let postgres = store as? PostgresLogStore { return try await postgres.verify(partition: partition) }
        guard let files = store as? FileLogStore else { preconditionFailure("unknown store \(type(of: store))") }
        let directory = files.data.directory(of: partition)
        return try LogVerifier.verify(directory: directory, partition: partition)
    }
}

/// `tally log inspect DIR --partition P [--guild G] [--from OFFSET] [--limit N]` (or `--store URL`)
struct InspectLog: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Print a partition's records readably."
    )

    @OptionGroup var source: StoreOptions

    @Option(help: "The partition to read.")
    var partition: UInt32

    @Option(help: "Only this guild's records (a Discord snowflake).")
    var guild: UInt64?

    @Option(help: "The first offset to print.")
    var from: UInt64 = 0

    @Option(help: "Print at most this many records.")
    var limit: Int = 100

    @Option(help: "Print the last N records instead (overrides --from and --limit).")
    var tail: Int?

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard limit > 0 else { throw ValidationError("--limit must be positive") }
    }

    func run() async throws {
        let logger = logging.makeLogger()
        try await source.withStore(logger: logger) { store in
            let p = PartitionID(partition)
            guard p.rawValue < store.partitionCount else {
                throw ValidationError(
                    "partition \(partition) does not exist: \(store.location) has \(store.partitionCount)")
            }
            let log = try await store.openForReading(partition: p, logger: logger)
            var query = LogQuery(from: Offset(from), guild: guild.map { GuildID($0) }, limit: limit)
            if let tail {
                query.from = Offset(log.endOffset.rawValue - min(log.endOffset.rawValue, UInt64(max(0, tail))))
                query.limit = max(1, tail)
            }
            let stats = try await log.forEachRecord(query) { stored in
                let record = stored.record
                let preview = record.payload.prefix(24).map { String(format: "%02x", $0) }.joined()
                let ellipsis = record.payload.count > 24 ? "…" : ""
                print(
                    "\(stored.offset)\tguild=\(record.guild) seq=\(record.sequence) time=\(record.timestamp) "
                        + "type=\(record.type) v\(record.typeVersion) payload=\(record.payload.count)B \(preview)\(ellipsis)"
                )
            }
            print(
                "# \(stats.records) record(s) from partition \(p) (end offset \(log.endOffset)); "
                    + "\(stats.batchesRead) batches read, \(stats.batchesSkipped) skipped by the index")
        }
    }
}

/// `tally log repair DIR --partition P [--truncate-after-damage]`
struct RepairLog: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repair",
        abstract: "Show what cutting a damaged partition at its first damage would lose; cut it on request.",
        discussion: """
            Without --truncate-after-damage nothing changes. With it, the cut bytes are kept beside the log \
            (<segment>.damaged-<byte>, and later segments renamed <segment>.damaged-0) before the log is \
            truncated; snapshots and read models past the cut are set aside (renamed …set-aside-<offset>) \
            so they are rebuilt from what is kept. No process may have the partition open: a quarantined \
            partition is not open, so the service may keep running; restart it afterwards.
            """
    )

    @Argument(help: "The data directory.")
    var directory: String

    @Option(help: "The damaged partition.")
    var partition: UInt32

    @Flag(help: "Cut the log at the damage, keeping a copy of the cut bytes beside it.")
    var truncateAfterDamage = false

    func run() throws {
        let data = try openDataDirectory(directory)
        let p = PartitionID(partition)
        guard p.rawValue < data.partitionCount else {
            throw ValidationError(
                "partition \(partition) does not exist: the data directory has \(data.partitionCount)")
        }
        let plan = try LogRepair.plan(directory: data.directory(of: p), partition: p)
        guard let damage = plan.damage else {
            print("partition \(p): no damage; nothing to cut")
            return
        }
        print("partition \(p): damage in \(damage.path) at byte \(damage.position): \(damage.reason)")
        print(
            "  cut: \(damage.bytesInSegment) byte(s) of \(damage.path) from byte \(damage.position)"
                + (damage.laterSegments.isEmpty
                    ? ""
                    : ", and \(damage.laterSegments.count) later segment(s) of \(damage.bytesInLaterSegments) byte(s)")
        )
        print(
            "  lost: records \(damage.keptEnd)..<\(damage.knownEnd) (\(damage.recordsLost) record(s)); "
                + "\(damage.validBatchesCut) intact batch(es) of \(damage.validRecordsCut) record(s) are among the cut bytes"
        )
        print("  kept: records below offset \(damage.keptEnd)")
        guard truncateAfterDamage else {
            print("nothing changed; run again with --truncate-after-damage to cut (a copy of the cut bytes is kept)")
            return
        }
        let kept = try LogRepair.truncateAfterDamage(plan)
        for path in kept { print("kept a copy of the cut bytes: \(path)") }
        // What was derived from the cut records must not come back once the log grows past the cut.
        for path in try PartitionModel.setAsideSnapshots(
            partitionDirectory: data.directory(of: p), pastEnd: damage.keptEnd)
        {
            print("set aside a snapshot past the cut: \(path)")
        }
        if let path = try ReadModelStore.setAside(
            path: ReadModelStore.path(dataDirectory: data, partition: p), ifCheckpointPast: damage.keptEnd)
        {
            print("set aside read models past the cut (rebuilt from the log at the next start): \(path)")
        }
        print("truncated partition \(p) at offset \(damage.keptEnd); `tally log verify` checks it")
        print("restart the service (or the shard holding partition \(p)) to serve it again")
    }
}

func openDataDirectory(_ path: String) throws -> DataDirectory {
    do {
        return try DataDirectory.open(path: path)
    } catch {
        throw ValidationError("\(error)")
    }
}

func formatBytes(_ bytes: Int64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var value = Double(bytes)
    var unit = 0
    while value >= 1024, unit < units.count - 1 {
        value /= 1024
        unit += 1
    }
    return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
}
