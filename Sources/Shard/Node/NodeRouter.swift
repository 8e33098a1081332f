public import EventLog

/// Finds the shard node that serves a guild: the node itself in a one-node deployment, the owner of
/// the guild's partition in a cluster. Any node accepts any guild's request and forwards it.
public protocol NodeRouter: Sendable {
    func node(for guild: GuildID) async -> ShardNode
}

extension ShardNode: NodeRouter {
    public func node(for guild: GuildID) async -> ShardNode { self }
}
