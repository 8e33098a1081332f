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

    /// A node alone routes by the partitions it has acquired: a shard process of a multi-process
    /// cluster sees the guilds of the partitions it holds and has served since it started.
    public func waitUntilRoutable() async {}
}
