public import Coordinator
public import Domain
public import EventLog
public import Logging

/// A coordinator and N shard nodes in one process, behind one HTTP port: `tally serve --shards N`.
///
/// The coordinator's ``Coordinator/AssignmentTable`` spreads the partitions evenly over the nodes;
/// each request is routed to the node that owns its guild's partition, which alone acquires it
/// (lock and epoch), exactly as separate shard processes would.
public actor LocalCluster: NodeRouter {
    public nonisolated let nodes: [ShardID: ShardNode]
    public private(set) var table: AssignmentTable
    private let partitionCount: Int
    private nonisolated let data: DataDirectory
    /// Where the partition logs are (the data directory's files, or a shared store).
    private nonisolated let logStore: any LogStore

    private let store: AssignmentStore?

    /// - Parameter store: where the assignment persists; a restarted cluster with the same shards
    ///   reloads it and moves nothing.
    public init(configuration: ShardNode.Configuration, shards: Int, store: AssignmentStore? = nil, logger: Logger)
        throws
    {
        precondition(shards >= 1)
        let ids = (1...shards).map { ShardID("shard-\($0)") }
        let nodes = Dictionary(
            uniqueKeysWithValues: ids.map { id in
                var l = logger
                l[metadataKey: "shard"] = "\(id)"
                return (id, ShardNode(configuration: configuration, logger: l))
            })
        data = configuration.data
        logStore = configuration.logStore
        partitionCount = configuration.data.partitionCount
        self.store = store
        var table =
            try store?.load(partitionCount: configuration.data.partitionCount)
            ?? AssignmentTable(configuration: .init(partitionCount: configuration.data.partitionCount))
        Self.takeOver(&table, by: ids)
        self.table = table
        self.nodes = nodes
        route = (0..<configuration.data.partitionCount).map { p in
            guard let owner = table.owner(of: PartitionID(UInt32(p))), let node = nodes[owner] else {
                preconditionFailure("takeOver left partition \(p) without an owner among this cluster's nodes")
            }
            return node
        }
        try store?.save(table)
    }

    /// Hands every partition of `table` (saved by an earlier run with any number of shards, or by
    /// `tally coordinator`) to `shards`, none of which holds anything yet.
    ///
    /// Shards the table knows that are not among `shards` are gone: their saved leases would
    /// otherwise keep their partitions until they expire, which in a table a coordinator saved is
    /// wall-clock time far ahead of this cluster's clock. Handoffs in flight complete at once, since
    /// no node holds anything to release. Afterwards every partition is owned by one of `shards`.
    static func takeOver(_ table: inout AssignmentTable, by shards: [ShardID]) {
        for gone in table.leases.keys.sorted() where !shards.contains(gone) { _ = table.shardLeft(gone) }
        var actions: [AssignmentTable.Action] = []
        for id in shards { actions += table.heartbeat(id, now: 0) }
        for (i, entry) in table.entries.enumerated() {
            if case .releasing(let from, _) = entry.ownership { actions.append(.release(PartitionID(UInt32(i)), from)) }
        }
        while let action = actions.first {
            actions.removeFirst()
            if case .release(let p, let s) = action { actions += table.released(p, by: s, now: 0) }
        }
    }

    /// The node owning each partition, by partition number: the assignment never changes after
    /// `init`, so routing a request needs no hop onto this actor.
    private nonisolated let route: [ShardNode]

    /// The node owning `guild`'s partition. Every partition has one of this cluster's nodes as its
    /// owner (the initializer drops a previous run's shards and hands their partitions over).
    public nonisolated func node(for guild: GuildID) async -> ShardNode {
        route[Int(data.partition(for: guild).rawValue)]
    }

    public func guilds(connectedTo broadcaster: KickUserID) async -> [GuildID] {
        var out: [GuildID] = []
        for node in nodes.values { out += await node.guilds(connectedTo: broadcaster) }
        return out.sorted()
    }

    /// The partitions each node owns.
    public var assignment: [ShardID: [PartitionID]] {
        var out: [ShardID: [PartitionID]] = [:]
        for p in 0..<partitionCount {
            let partition = PartitionID(UInt32(p))
            if let owner = table.owner(of: partition) { out[owner, default: []].append(partition) }
        }
        return out
    }

    /// Shards, their leases, and every partition's owner and epoch, with the damage of each
    /// quarantined one (`GET /v1/cluster`).
    public var view: ClusterView {
        get async { ClusterView(table: table, damage: await quarantined()) }
    }

    public func quarantined() async -> [PartitionDamage] {
        var out: [PartitionDamage] = []
        for id in nodes.keys.sorted() { out += await nodes[id]!.quarantined() }
        return out.sorted { $0.partition < $1.partition }
    }

    /// Each node acquires the partitions it owns that already hold a log.
    public func acquireExisting() async throws {
        let existing = Set(try await logStore.existingPartitions())
        for (shard, partitions) in assignment {
            for p in partitions where existing.contains(p) { try await nodes[shard]!.acquireAtStart(p) }
        }
        routable = true
    }

    /// Whether every partition with history is held, so routing by Kick channel sees every guild.
    private var routable = false

    /// Polls (the start takes seconds at most), so a cancelled wait ends at once.
    public func waitUntilRoutable() async {
        while !routable, !Task.isCancelled { try? await Task.sleep(for: .milliseconds(20)) }
    }

    public func shutdown() async {
        for node in nodes.values { await node.shutdown() }
    }
}
