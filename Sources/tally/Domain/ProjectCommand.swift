import ArgumentParser
import EventLog
import Foundation
import Logging
import Projections

/// `tally project DIR`: brings the read models up to date with the logs.
struct ProjectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "project",
        abstract: "Bring every partition's read models (SQLite) up to date with its log.",
        discussion:
            "A running service keeps its read models current itself; use this on a data directory no service is running on."
    )

    @Argument(help: "The data directory.")
    var directory: String

    @Option(help: "Only this partition.")
    var partition: UInt32?

    @Option(help: "Events between two committed writes.")
    var flushEvery: Int = 50_000

    @OptionGroup var logging: LoggingOptions

    func run() throws {
        let data = try openDataDirectory(directory)
        try Self.projectAll(
            data: data, only: partition.map { [PartitionID($0)] }, flushEvery: flushEvery, logger: logging.makeLogger(),
            quiet: false)
    }

    static func projectAll(
        data: DataDirectory, only: [PartitionID]? = nil, flushEvery: Int = 50_000, logger: Logger, quiet: Bool
    ) throws {
        try FileManager.default.createDirectory(atPath: data.path + "/readmodels", withIntermediateDirectories: true)
        var total: UInt64 = 0
        for p in only ?? data.existingPartitions {
            let log = try PartitionLog.openForReading(directory: data.directory(of: p), partition: p, logger: logger)
            let store = try ReadModelStore(path: ReadModelStore.path(dataDirectory: data, partition: p))
            var projector = Projector(log: log, store: store)
            projector.flushEvery = flushEvery
            let applied = try projector.catchUp { applied, end in
                if !quiet {
                    FileHandle.standardError.write(
                        Data("project: partition \(p): \(applied) events (log end \(end))\n".utf8))
                }
            }
            total += applied
            if !quiet { print("partition \(p): read models at offset \(log.endOffset) (\(applied) new events)") }
        }
        if !quiet { print("projected \(total) events") }
    }
}

/// `tally rebuild DIR [--projection NAME]`
struct RebuildCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebuild",
        abstract: "Rebuild read models from offset 0 beside the live ones, swap them in, and show what changed.",
        discussion: "Stop the service (or its projector) for the partitions being rebuilt first."
    )

    @Argument(help: "The data directory.")
    var directory: String

    @Option(help: "Rebuild only this projection (people, raffle, roles, links, shop, guilds).")
    var projection: [String] = []

    @Option(help: "Only this partition.")
    var partition: UInt32?

    @Option(help: "List at most this many changed people.")
    var show: Int = 20

    @OptionGroup var logging: LoggingOptions

    func run() throws {
        let data = try openDataDirectory(directory)
        let logger = logging.makeLogger()
        try FileManager.default.createDirectory(atPath: data.path + "/readmodels", withIntermediateDirectories: true)
        let partitions = partition.map { [PartitionID($0)] } ?? data.existingPartitions
        var changedPeople = 0
        var changedGuilds = Set<GuildID>()
        for p in partitions {
            let log = try PartitionLog.openForReading(directory: data.directory(of: p), partition: p, logger: logger)
            let rebuilder = Rebuilder(log: log, livePath: ReadModelStore.path(dataDirectory: data, partition: p))
            let report = try rebuilder.rebuild(only: projection.isEmpty ? nil : Set(projection)) { applied, end in
                FileHandle.standardError.write(
                    Data("rebuild: partition \(p): \(applied)/\(end.rawValue) events\n".utf8))
            }
            let names = report.projections.map { "\($0.name) v\($0.version)" }.joined(separator: ", ")
            print(
                "partition \(p): rebuilt \(names) from \(report.events) events in \(String(format: "%.2f", report.seconds)) s; "
                    + "\(report.diff.people.count) people and \(report.diff.changedGuilds.count) guilds changed")
            for change in report.diff.people.prefix(max(0, show - changedPeople)) {
                let columns = change.changes.sorted { $0.key < $1.key }.map { column, c in
                    "\(column) \(c.before.map(String.init) ?? "∅")→\(c.after.map(String.init) ?? "∅") (\(c.delta >= 0 ? "+" : "")\(c.delta))"
                }
                print("  guild \(change.guild) \(change.person): \(columns.joined(separator: ", "))")
            }
            for (guild, tables) in report.diff.otherRows.sorted(by: { $0.key < $1.key }).prefix(show) {
                print(
                    "  guild \(guild): "
                        + tables.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key) rows" }.joined(separator: ", ")
                )
            }
            changedPeople += report.diff.people.count
            changedGuilds.formUnion(report.diff.changedGuilds)
        }
        print("total: \(changedPeople) people in \(changedGuilds.count) guilds changed")
    }
}
