public import EventLog
import Foundation
public import Logging
import Synchronization

/// What the operator's endpoints (`/v1/admin/…`) work on: the shard nodes of this process, its data
/// directory, and its online rebuilds.
public struct Operations: Sendable {
    /// Who this process is in reports and backup manifests: `serve`, or a shard's id.
    public let source: String
    public let nodes: [(name: String, node: ShardNode)]
    public let data: DataDirectory
    public let rebuilds: RebuildJobs
    /// Where `POST /v1/admin/backups` writes (each backup a directory named in the request): the API
    /// never writes anywhere else.
    public let backupRoot: String
    /// Whether a backup is being made: one at a time, so two cannot write into one directory.
    private let backingUp = BackupGate()

    /// - Parameter backupRoot: where backups go (default `DIR/backups`).
    public init(
        source: String, nodes: [(name: String, node: ShardNode)], data: DataDirectory, backupRoot: String? = nil,
        logger: Logger
    ) {
        self.source = source
        self.nodes = nodes
        self.data = data
        self.backupRoot = backupRoot ?? data.path + "/backups"
        self.rebuilds = RebuildJobs(nodes: nodes, data: data, logger: logger)
    }

    /// Whether `name` may name a backup: 1 to 100 letters, digits, `.`, `_`, `-`, not starting with `.`.
    public static func isBackupName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 100 && !name.hasPrefix(".")
            && name.unicodeScalars.allSatisfy {
                ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0)))
                    || "._-".unicodeScalars.contains($0)
            }
    }

    /// Backs up every partition this process serves into `backupRoot/name` (a data directory, created
    /// if needed) and writes its manifest there. See ``DataBackup``.
    ///
    /// - Throws: what ``DataBackup`` throws.
    public func backup(named name: String) async throws -> DataBackup.Manifest {
        precondition(Operations.isBackupName(name), "backup names are checked at the edge")
        guard backingUp.enter() else {
            throw APIError(.backupRunning, "a backup is being made; wait for it to finish")
        }
        defer { backingUp.leave() }
        let destination = backupRoot + "/" + name
        let started = Int64(Date().timeIntervalSince1970 * 1000)
        let (source, data) = (self.source, self.data)
        var owners: [PartitionOwner] = []
        for (_, node) in nodes {
            for owner in await node.acquiredOwners() where await node.serves(owner.partition) { owners.append(owner) }
        }
        if let shared = owners.first(where: { $0.fileLog == nil }) {
            throw APIError(
                .backupUnsupported,
                "the partition logs are in \(shared.store.location), not in files: back them up with the database's "
                    + "own tools (pg_dump, or a base backup with WAL archiving); nothing was written")
        }
        let partitions = owners.map(\.partition)
        let copy = try await ShardNode.maintenancePool.run {
            try DataBackup.prepare(source: data, destination: destination, partitions: partitions)
        }
        var entries: [DataBackup.PartitionEntry] = []
        for owner in owners {
            guard let log = owner.fileLog else { continue }
            entries.append(
                try await ShardNode.maintenancePool.run {
                    try DataBackup.backup(partition: owner.partition, log: log, source: data, destination: copy)
                })
        }
        var manifest = DataBackup.Manifest(
            source: source, createdAtMs: started, partitions: entries.sorted { $0.partition < $1.partition })
        manifest.directory = copy.path
        try await ShardNode.maintenancePool.run { [manifest] in try DataBackup.write(manifest, to: copy) }
        return manifest
    }
}

extension Operations {
    /// `GET /v1/admin/status`: this process's nodes and their partitions, and its rebuilds.
    public struct Status: Sendable, Codable {
        public struct Node: Sendable, Codable {
            public var name: String
            public var partitions: [ShardNode.PartitionStatus]
        }

        public var source: String
        public var nodes: [Node]
        /// Rebuilds queued or running, and the last one finished.
        public var rebuilds: [RebuildJobs.Job]
    }

    public func status() async -> Status {
        var out: [Status.Node] = []
        for (name, node) in nodes { out.append(Status.Node(name: name, partitions: await node.status())) }
        let jobs = rebuilds.all
        let active = jobs.filter { $0.state == "queued" || $0.state == "running" }
        let last = jobs.first { $0.state == "done" || $0.state == "failed" }
        return Status(
            source: source, nodes: out,
            rebuilds: (active + (last.map { [$0] } ?? [])).map { job in
                var job = job
                job.people = []  // the status shows progress; the rebuild's own answer has the diff
                return job
            })
    }
}

/// One backup at a time per process.
final class BackupGate: Sendable {
    private let busy = Mutex(false)

    /// Takes the gate; false when a backup already holds it.
    func enter() -> Bool {
        busy.withLock { busy in
            if busy { return false }
            busy = true
            return true
        }
    }

    func leave() { busy.withLock { $0 = false } }
}
