public import Coordinator
public import Domain
public import EventLog

/// Finds the shard node that serves a guild: the node itself in a one-node deployment, the owner of
/// the guild's partition in a cluster. Any node accepts any guild's request and forwards it.
public protocol NodeRouter: Sendable {
    func node(for guild: GuildID) async -> ShardNode
    /// The guilds connected to a Kick channel, among the partitions this process holds.
    func guilds(connectedTo broadcaster: KickUserID) async -> [GuildID]
    /// Returns once every partition with history is held, so ``guilds(connectedTo:)`` misses none
    /// (after a start, partitions are acquired in the background).
    func waitUntilRoutable() async
    /// The partitions this process has quarantined (damage inside acknowledged data), for `/health`.
    func quarantined() async -> [PartitionDamage]
}

extension ShardNode: NodeRouter {
    public func node(for guild: GuildID) async -> ShardNode { self }

    public func guilds(connectedTo broadcaster: KickUserID) async -> [GuildID] {
        acquiredOwners().flatMap { $0.effects.guilds(connectedTo: broadcaster) }.sorted()
    }

    /// Acquires every partition this node serves that has a log (a shard process of a multi-process
    /// cluster acquires partitions on first use), so the guilds connected to a Kick channel are
    /// known for all of them. One that cannot be acquired now (moving, backing off, quarantined) is
    /// left out; its own recovery brings it back.
    public func waitUntilRoutable() async {
        let held = Set(acquiredOwners().map(\.partition))
        for partition in configuration.data.partitions
        where serves(partition) && !held.contains(partition)
            && FileSystem.isDirectory(configuration.data.directory(of: partition))
        {
            _ = try? await owner(of: partition)
        }
    }
}
