import ArgumentParser
import EventLog
import Foundation
import Logging
import PostgresStore
import Projections
import Shard

/// `tally rebuild DIR [--projection NAME]` (offline) or `tally rebuild --url URL [--projection NAME]
/// [--guild G]` (online, while the service serves).
struct RebuildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebuild",
        abstract: "Rebuild read models from offset 0 beside the live ones, swap them in, and show what changed.",
        discussion: """
            With --url, the running service rebuilds while it serves: each partition's owner builds the new read \
            models beside the live ones, follows the log, and swaps them in between two queries; the diff is printed \
            and kept in the service's DIR/reports/rebuild-<id>.json (and in --report FILE). With a data directory, \
            stop the service first; with --store (or TALLY_STORE), the logs are read from PostgreSQL and the data \
            directory holds only the read models rebuilt.
            """
    )

    @Argument(help: "The data directory (offline; omit with --url).")
    var directory: String?

    @Option(help: "A running service's base URL (online rebuild).")
    var url: String?

    @Option(
        help: ArgumentHelp(
            "Offline: read the logs from this PostgreSQL store, postgres://USER@HOST:PORT/DATABASE.",
            discussion: "Default: TALLY_STORE. The read models rebuilt are the data directory's."))
    var store: String?

    @Option(help: "Rebuild only this projection (people, raffle, roles, links, shop, guilds); repeatable.")
    var projection: [String] = []

    @Option(help: "Only this partition (offline).")
    var partition: UInt32?

    @Option(help: "Only the partition holding this guild, and only its changes (online).")
    var guild: String?

    @Option(help: "The operator token (default: TALLY_OPERATOR_TOKEN).")
    var token: String?

    @Option(help: "Also write the full report (JSON) here (online).")
    var report: String?

    @Option(help: "List at most this many changed people.")
    var show: Int = 20

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard (directory == nil) != (url == nil) else {
            throw ValidationError("give a data directory (offline) or --url (online), not both")
        }
        if url != nil, partition != nil { throw ValidationError("--partition is offline only; online, use --guild") }
        if directory != nil, guild != nil || report != nil {
            throw ValidationError("--guild and --report are for an online rebuild (--url)")
        }
        if let guild, UInt64(guild) == nil { throw ValidationError("--guild must be a Discord snowflake") }
        if url != nil, store != nil { throw ValidationError("--store is for an offline rebuild (a data directory)") }
    }

    /// The store URL of an offline rebuild, if any.
    private var storeURL: String? { store ?? environmentStoreURL() }

    func run() async throws {
        if let url { return try await online(url) }
        let data = try openDataDirectory(directory!)
        guard let storeURL else { return try await offline(data: data, store: FileLogStore(data: data)) }
        try await withPostgresStore(url: storeURL, logger: logging.makeLogger()) { store in
            guard store.partitionCount == data.partitionCount else {
                throw ValidationError(
                    "\(data.path) has \(data.partitionCount) partitions but \(store.location) has \(store.partitionCount)"
                )
            }
            try await offline(data: data, store: store)
        }
    }

    /// Starts a rebuild on every node of the service, follows its progress, prints the diff.
    private func online(_ url: String) async throws {
        try await AdminClient.run(url: url, token: token) { admin in
            let request = RebuildJobs.Request(projections: projection.isEmpty ? nil : projection, guild: guild)
            var jobs: [(base: String, job: RebuildJobs.Job)] = []
            for base in try await admin.nodeURLs() {
                let job = try await admin.post(RebuildJobs.Job.self, "/v1/admin/rebuilds", request, base: base)
                print("rebuild \(job.id) on \(base): \(job.projections.joined(separator: ", "))")
                jobs.append((base, job))
            }
            var shown: [String: String] = [:]
            while jobs.contains(where: { $0.job.state == "queued" || $0.job.state == "running" }) {
                try await Task.sleep(for: .milliseconds(500))
                for i in jobs.indices where jobs[i].job.state == "queued" || jobs[i].job.state == "running" {
                    jobs[i].job = try await admin.get(
                        RebuildJobs.Job.self, "/v1/admin/rebuilds/\(jobs[i].job.id)", base: jobs[i].base)
                    for p in jobs[i].job.partitions {
                        let line = "partition \(p.partition) (\(p.node)): \(p.phase) \(p.applied)/\(p.target)"
                        if shown["\(p.partition)"] != line {
                            shown["\(p.partition)"] = line
                            FileHandle.standardError.write(Data("rebuild: \(line)\n".utf8))
                        }
                    }
                }
            }
            var people = 0
            var guilds = 0
            var failed = false
            for (base, job) in jobs {
                for p in job.partitions {
                    let detail =
                        p.phase == "done"
                        ? "swapped at offset \(p.offset ?? 0) in \(String(format: "%.2f", p.seconds ?? 0)) s; \(p.peopleChanged ?? 0) people changed"
                        : "\(p.phase)\(p.error.map { ": \($0)" } ?? "")"
                    print("partition \(p.partition) (\(p.node)): \(detail)")
                }
                for change in job.people.prefix(max(0, show - people)) {
                    print("  guild \(change.guild) \(change.person): \(Self.describe(change.changes))")
                }
                for row in job.otherRows.prefix(show) { print("  guild \(row.guild): \(row.rows) \(row.table) rows") }
                if let error = job.error {
                    print("rebuild \(job.id) on \(base) FAILED: \(error)")
                    failed = true
                }
                if let path = job.report { print("report: \(path) (on the service's machine)") }
                people += job.peopleChanged
                guilds += job.guildsChanged
            }
            if let report {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                // The full reports (every change): the answers above list the first ones only.
                var full: [RebuildJobs.Job] = []
                for (base, job) in jobs {
                    full.append(try await admin.get(RebuildJobs.Job.self, "/v1/admin/rebuilds/\(job.id)", base: base))
                }
                try encoder.encode(full).write(to: URL(fileURLWithPath: report))
                print("report written to \(report)")
            }
            print("total: \(people) people in \(guilds) guilds changed")
            if failed { throw ExitCode(1) }
        }
    }

    static func describe(_ changes: [String: [Int64?]]) -> String {
        changes.sorted { $0.key < $1.key }.map { column, values in
            let before = values.first ?? nil
            let after = values.count > 1 ? values[1] : nil
            let delta = (after ?? 0) - (before ?? 0)
            return
                "\(column) \(before.map(String.init) ?? "∅")→\(after.map(String.init) ?? "∅") (\(delta >= 0 ? "+" : "")\(delta))"
        }.joined(separator: ", ")
    }

    /// Rebuilds the read models of `data` from the logs in `store` (its files, or PostgreSQL).
    private func offline(data: DataDirectory, store: any LogStore) async throws {
        let logger = logging.makeLogger()
        try FileManager.default.createDirectory(atPath: data.path + "/readmodels", withIntermediateDirectories: true)
        var partitions = try await store.existingPartitions()
        if let partition { partitions = [PartitionID(partition)] }
        var changedPeople = 0
        var changedGuilds = Set<GuildID>()
        let only = projection.isEmpty ? nil : Set(projection)
        for p in partitions {
            let log = try await store.openForReading(partition: p, logger: logger).blockingReader()
            let livePath = ReadModelStore.path(dataDirectory: data, partition: p)
            // The rebuild reads the log with blocking reads: on the I/O pool.
            let report = try await BlockingIOPool.shared.run {
                try Rebuilder(log: log, livePath: livePath).rebuild(only: only) { applied, end in
                    FileHandle.standardError.write(
                        Data("rebuild: partition \(p): \(applied)/\(end.rawValue) events\n".utf8))
                }
            }
            let names = report.projections.map { "\($0.name) v\($0.version)" }.joined(separator: ", ")
            print(
                "partition \(p): rebuilt \(names) from \(report.events) events in \(String(format: "%.2f", report.seconds)) s; "
                    + "\(report.diff.people.count) people and \(report.diff.changedGuilds.count) guilds changed")
            for change in report.diff.people.prefix(max(0, show - changedPeople)) {
                print(
                    "  guild \(change.guild) \(change.person): "
                        + Self.describe(change.changes.mapValues { [$0.before, $0.after] }))
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
