import ArgumentParser
import Domain
import EventLog
import Foundation
import Legacy
import Logging

/// `tally import-legacy`: brings a community's history over from the old bot's PostgreSQL.
struct ImportLegacyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import-legacy",
        abstract: "Import watch time, points, links, settings, roles, shop and raffles from the old bot's PostgreSQL.",
        discussion: """
            Reads the old tables (legacy-schema.sql) through postgres-nio and appends, per guild, import
            events that name the table and row each fact came from, through the same rules, partitions
            and log as everything else; each guild's events are one append, so a guild is imported whole
            or not at all. Running it again appends nothing for rows already imported. A guild that
            already holds Tally history is refused unless --merge (which then adds only the people Tally
            lacks). Run it on a data directory no shard is serving (its partitions are locked).
            """
    )

    @Option(
        help: "The old database: postgresql://user[:password]@host[:port]/database[?sslmode=disable|prefer|require].")
    var dsn: String

    @Option(help: "The Tally data directory (created if missing).")
    var data: String

    @Option(
        name: .customLong("guild"),
        help: "Import only this guild (repeatable); default every guild in the old database.")
    var guilds: [UInt64] = []

    @Flag(help: "Read and check everything, print the summary, write nothing.")
    var dryRun = false

    @Flag(help: "Import into guilds that hold Tally history: only people absent from Tally are created.")
    var merge = false

    @Option(help: "Write the report as JSON to this file.")
    var report: String?

    @Option(help: "Partitions of a new data directory.")
    var partitions: Int = DataDirectory.defaultPartitionCount

    @Flag(help: "Do not bring the read models up to date afterwards.")
    var noProject = false

    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let logger = logging.makeLogger()
        let started = ContinuousClock.now
        let source = try LegacyDSN(parsing: dsn)
        let database = LegacyDatabase(dsn: source, logger: logger)
        let terminal = isatty(2) == 1
        let progress: LegacyDatabase.Progress = { table, rows, seconds, done in
            let rate = seconds > 0 ? Int(Double(rows) / seconds) : rows
            let line = "\(table): \(rows.grouped) rows, \(rate.grouped) rows/s"
            if terminal {
                FileHandle.standardError.write(Data("\r\u{1B}[K\(line)\(done ? "\n" : "")".utf8))
            } else if done {
                FileHandle.standardError.write(Data("\(line)\n".utf8))
            }
        }
        let legacy = try await database.read(guilds: guilds.map { Int64(bitPattern: $0) }, progress: progress)
        let readSeconds = LegacyDatabase.seconds(since: started)

        let directory: DataDirectory
        let secret: [UInt8]
        if dryRun, !FileManager.default.fileExists(atPath: data) {
            directory = DataDirectory.planned(path: data, partitionCount: partitions)
            secret = Array(repeating: 0, count: 32)
        } else {
            directory = try DataDirectory.open(path: data, creatingWith: dryRun ? nil : partitions)
            secret = dryRun ? Array(repeating: 0, count: 32) : try Secrets.load(dataDirectory: data).raffleSecret
        }
        var configuration = LegacyImporter.Configuration(raffleSecret: secret)
        configuration.guilds = guilds.map { Int64(bitPattern: $0) }
        configuration.dryRun = dryRun
        configuration.merge = merge
        var result = LegacyReport(dsn: source.description, dryRun: dryRun, merge: merge)
        result.rows = legacy.rowCount
        result.readSeconds = readSeconds
        try await LegacyImporter(data: directory, configuration: configuration, logger: logger).run(
            legacy, report: &result)
        result.totalSeconds = LegacyDatabase.seconds(since: started)

        for guild in result.guilds { print(guild.summary) }
        let total = result.rows.values.reduce(0, +)
        print(
            "\(dryRun ? "dry run: nothing written; " : "")\(total.grouped) old rows in \(String(format: "%.2f", result.totalSeconds)) s (\(Int(result.rowsPerSecond).grouped) rows/s)"
        )
        if let report {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(result).write(to: URL(fileURLWithPath: report))
            print("report: \(report)")
        }
        if !dryRun, !noProject, result.guilds.contains(where: { $0.status == "imported" }) {
            try ProjectCommand.projectAll(data: directory, logger: logger, quiet: true)
        }
        if result.guilds.contains(where: { $0.status == "failed" }) { throw ExitCode(1) }
    }
}

extension LegacyGuildReport {
    /// The lines printed for the guild at the end of a run.
    var summary: String {
        var lines = ["guild \(guild): \(status)\(error.map { " — \($0)" } ?? "")"]
        guard error == nil else { return lines.joined(separator: "\n") }
        lines.append(
            "  people \(people) (linked \(linkedPeople), kick_name \(provisionalPeople)), minutes \(minutes.grouped), points \(points.grouped), tickets \(tickets.grouped), links \(links)"
        )
        lines.append(
            "  settings \(settings), items \(items), orders \(orders), periods \(periods), events \(events), rows \(rows.grouped), skipped \(skipped.count), inconsistencies \(inconsistencies.count)"
        )
        for s in Dictionary(grouping: skipped, by: \.reason).sorted(by: { $0.key < $1.key }) {
            lines.append("  skipped \(s.value.count): \(s.key)")
        }
        if !unknownSettings.isEmpty { lines.append("  unknown settings: \(unknownSettings.joined(separator: ", "))") }
        for role in roles {
            lines.append(
                "  role \(role.name) (\(role.minutes) min, \(role.eligible) linked people qualify): map it with \(role.command)"
            )
        }
        for d in draws { lines.append("  period \(d.period) \(d.draw): \(d.result)") }
        return lines.joined(separator: "\n")
    }
}

extension BinaryInteger {
    /// `1234567` as `1,234,567`.
    fileprivate var grouped: String { GuildState.grouped(Int64(self)) }
}
