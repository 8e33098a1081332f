import ArgumentParser
import EventLog
import Foundation
import Logging
import Shard

/// `tally backup --url URL --to DIR` (a running service) or `tally backup --data DIR --to OUT`.
struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Take a consistent, verified copy of the logs, snapshots and read models while the service runs.",
        discussion: """
            With --url, each node of the running service copies the partitions it serves into its backup directory \
            (serve/shard --backup-dir, default DATA/backups) under --name, on the service's machine (shards of a \
            cluster share it): read models through SQLite's online backup, then \
            each log up to its durable end (the partition's end offset in backup-<node>.json: every command \
            acknowledged below it is in the copy), then the snapshots below that end; each copy is verified. With \
            --data, the same from a data directory (a service may be running on it). The copy is a data directory: \
            `tally log verify`, `tally restore` and `tally serve` take it. It holds secrets.json: keep it as safe.
            """
    )

    @Option(help: "A running service's base URL.") var url: String?
    @Option(help: "A data directory to copy (instead of --url).") var data: String?
    @Option(help: "With --data: where the copy goes (a new directory).") var to: String?
    @Option(help: "With --url: the backup's name, a directory under the service's backup directory.") var name: String?
    @Option(help: "The operator token (default: TALLY_OPERATOR_TOKEN).") var token: String?
    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard (url == nil) != (data == nil) else { throw ValidationError("give --url or --data, not both") }
        if url != nil {
            guard let name, Operations.isBackupName(name), to == nil else {
                throw ValidationError("with --url, give --name: 1 to 100 letters, digits, '.', '_' or '-'")
            }
        } else {
            guard to != nil, name == nil else { throw ValidationError("with --data, give --to DIR") }
        }
    }

    func run() async throws {
        var manifests: [DataBackup.Manifest] = []
        if let url {
            manifests = try await AdminClient.run(url: url, token: token) { admin in
                var out: [DataBackup.Manifest] = []
                for base in try await admin.nodeURLs() {
                    out.append(
                        try await admin.post(
                            DataBackup.Manifest.self, "/v1/admin/backups", ["name": name], base: base))
                }
                return out
            }
        } else {
            manifests = [try offline(data!)]
        }
        for manifest in manifests {
            for p in manifest.partitions {
                print(
                    "partition \(p.partition) (\(manifest.source)): end offset \(p.endOffset), \(p.segments) segment(s), "
                        + "\(p.bytes) bytes, read models at \(p.readModelsOffset.map(String.init) ?? "none"), "
                        + "snapshots \(p.snapshots.isEmpty ? "none" : p.snapshots.map(String.init).joined(separator: ", ")) — verified"
                )
            }
        }
        let count = manifests.map(\.partitions.count).reduce(0, +)
        let places = Set(manifests.compactMap(\.directory) + (to.map { [$0] } ?? [])).sorted()
        print("backed up \(count) partition(s) to \(places.joined(separator: ", "))")
    }

    private func offline(_ path: String) throws -> DataBackup.Manifest {
        let source = try openDataDirectory(path)
        let logger = logging.makeLogger()
        let started = Int64(Date().timeIntervalSince1970 * 1000)
        let copy = try DataBackup.prepare(source: source, destination: to!, partitions: source.existingPartitions)
        var entries: [DataBackup.PartitionEntry] = []
        for p in source.existingPartitions {
            let log = try PartitionLog.openForReading(directory: source.directory(of: p), partition: p, logger: logger)
            entries.append(try DataBackup.backup(partition: p, log: log, source: source, destination: copy))
        }
        var manifest = DataBackup.Manifest(source: "offline", createdAtMs: started, partitions: entries)
        manifest.directory = copy.path
        try DataBackup.write(manifest, to: copy)
        return manifest
    }
}

/// `tally restore BACKUP --to DATADIR`
struct RestoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Verify a backup and copy it into a new data directory to serve.",
        discussion: """
            Every partition the backup's manifests name is verified (every batch, and exactly its recorded end \
            offset of records) before anything is copied; the target must not exist or be empty; the copy is \
            verified again. Then `tally serve --data DATADIR` serves it.
            """
    )

    @Argument(help: "The backup directory.") var backup: String
    @Option(help: "The new data directory.") var to: String

    func run() throws {
        let manifests = try DataBackup.manifests(in: backup)
        guard !manifests.isEmpty else {
            throw ValidationError("\(backup) is not a backup: it has no backup-*.json manifest")
        }
        let source = try openDataDirectory(backup)
        if FileManager.default.fileExists(atPath: to),
            !(try FileManager.default.contentsOfDirectory(atPath: to)).isEmpty
        {
            throw ValidationError("\(to) is not empty; restore into a new directory")
        }
        let entries = manifests.flatMap(\.partitions)
        try Self.verify(source, entries)
        try FileManager.default.createDirectory(atPath: to, withIntermediateDirectories: true)
        for name in try FileManager.default.contentsOfDirectory(atPath: backup) {
            try FileManager.default.copyItem(atPath: backup + "/" + name, toPath: to + "/" + name)
        }
        try Self.syncTree(to)
        try Self.verify(try openDataDirectory(to), entries)
        for p in entries.sorted(by: { $0.partition < $1.partition }) {
            print("partition \(p.partition): \(p.endOffset) records restored and verified")
        }
        print("restored \(entries.count) partition(s) into \(to); serve it with: tally serve --data \(to)")
    }

    /// Every partition named verifies and holds exactly its recorded end offset of records.
    static func verify(_ data: DataDirectory, _ entries: [DataBackup.PartitionEntry]) throws {
        for entry in entries {
            let partition = PartitionID(UInt32(entry.partition))
            let report = try LogVerifier.verify(directory: data.directory(of: partition), partition: partition)
            guard !report.isCorrupt, report.records == entry.endOffset else {
                throw ValidationError(
                    "partition \(entry.partition) in \(data.path) does not verify: \(report.records) records, "
                        + "\(entry.endOffset) expected; " + report.findings.map(\.description).joined(separator: "; "))
            }
        }
    }

    /// fsyncs every file and directory under `path`, so the restore is durable before it is served.
    static func syncTree(_ path: String) throws {
        let enumerator = FileManager.default.enumerator(atPath: path)
        var paths = [path]
        while let relative = enumerator?.nextObject() as? String { paths.append(path + "/" + relative) }
        for p in paths {
            let fd = open(p, O_RDONLY)
            guard fd >= 0 else { throw ValidationError("cannot open \(p) to sync it") }
            defer { close(fd) }
            guard fsync(fd) == 0 else { throw ValidationError("cannot sync \(p)") }
        }
    }
}
