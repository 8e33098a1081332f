import ArgumentParser
import EventLog
import Foundation

struct LogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "Check and read partition logs in a data directory.",
        subcommands: [VerifyLog.self, InspectLog.self, AppendTest.self]
    )
}

/// `tally log verify DIR`
struct VerifyLog: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check every checksum and index of every partition; exit status 1 on corruption."
    )

    @Argument(help: "The data directory.")
    var directory: String

    @Option(help: "Check only this partition.")
    var partition: UInt32?

    func run() throws {
        let data = try openDataDirectory(directory)
        let partitions = partition.map { [PartitionID($0)] } ?? data.existingPartitions
        var totals = LogVerifier.Report(partition: PartitionID(0))
        var corrupt = 0
        print("verifying \(partitions.count) partition(s) in \(directory)")
        for p in partitions {
            let report = try LogVerifier.verify(directory: data.directory(of: p), partition: p)
            let status = report.isCorrupt ? "CORRUPT" : (report.findings.isEmpty ? "ok" : "ok (warnings)")
            print(
                "partition \(p): \(report.segments) segment(s), \(report.batches) batches, \(report.records) records, "
                    + "\(formatBytes(report.bytes)) — \(status)")
            if report.epochs.count > 1 {
                print(
                    "  epochs: " + report.epochs.map { "\($0.epoch) from offset \($0.offset)" }.joined(separator: ", "))
            }
            for finding in report.findings { print("  \(finding)") }
            totals.segments += report.segments
            totals.batches += report.batches
            totals.records += report.records
            totals.bytes += report.bytes
            if report.isCorrupt { corrupt += 1 }
        }
        print(
            "total: \(totals.segments) segment(s), \(totals.batches) batches, \(totals.records) records, "
                + "\(formatBytes(totals.bytes)); \(corrupt) corrupt partition(s)")
        if corrupt > 0 { throw ExitCode(1) }
    }
}

/// `tally log inspect DIR --partition P [--guild G] [--from OFFSET] [--limit N]`
struct InspectLog: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Print a partition's records readably."
    )

    @Argument(help: "The data directory.")
    var directory: String

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

    func run() throws {
        let data = try openDataDirectory(directory)
        let p = PartitionID(partition)
        guard p.rawValue < data.partitionCount else {
            throw ValidationError(
                "partition \(partition) does not exist: the data directory has \(data.partitionCount)")
        }
        let log = try PartitionLog.openForReading(
            directory: data.directory(of: p), partition: p, logger: logging.makeLogger())
        var query = LogQuery(from: Offset(from), guild: guild.map { GuildID($0) }, limit: limit)
        if let tail {
            query.from = Offset(log.endOffset.rawValue - min(log.endOffset.rawValue, UInt64(max(0, tail))))
            query.limit = max(1, tail)
        }
        let stats = try log.read(query) { record in
            let preview = record.payload.prefix(24).map { String(format: "%02x", $0) }.joined()
            let ellipsis = record.payload.count > 24 ? "…" : ""
            print(
                "\(record.offset)\tguild=\(record.guild) seq=\(record.sequence) time=\(record.timestamp) "
                    + "type=\(record.type) v\(record.typeVersion) payload=\(record.payload.count)B \(preview)\(ellipsis)"
            )
        }
        print(
            "# \(stats.records) record(s) from partition \(p) (end offset \(log.endOffset)); "
                + "\(stats.batchesRead) batches read, \(stats.batchesSkipped) skipped by the index")
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
