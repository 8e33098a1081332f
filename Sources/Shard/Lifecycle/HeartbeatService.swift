import Logging
public import ServiceLifecycle

/// Heartbeats a shard to its coordinator every ``every`` and carries out the orders of each answer
/// (see ``ShardAgent/beat()``), until the group shuts down. Listed first, it stops last: partitions
/// are released while the lease is still held.
///
/// A shard that cannot reach the coordinator for a whole ``lease`` fences itself: it releases every
/// partition, since by then the coordinator may have granted them to another shard.
public struct HeartbeatService<C: Clock>: Service where C.Duration == Duration {
    public let agent: ShardAgent
    public let clock: C
    /// Time between heartbeats. Default 1 s.
    public var every: Duration = .seconds(1)
    /// The coordinator's lease. Default 5 s.
    public var lease: Duration = .seconds(5)

    public init(agent: ShardAgent, clock: C) {
        self.agent = agent
        self.clock = clock
    }

    public func run() async throws {
        var lastBeat = clock.now
        var fenced = false
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                try await agent.beat()
                lastBeat = clock.now
                fenced = false
            } catch {
                agent.logger.warning(
                    "heartbeat failed", metadata: ["coordinator": "\(agent.coordinator)", "error": "\(error)"])
                if !fenced, lastBeat.duration(to: clock.now) >= lease {
                    let dropped = await agent.node.apply(hold: [:])
                    fenced = true
                    agent.logger.error(
                        "cut off from the coordinator for a lease: released every partition",
                        metadata: ["partitions": "\(dropped.map(\.description).joined(separator: ","))"])
                }
            }
            do { try await cancelWhenGracefulShutdown { try await clock.sleep(for: every) } } catch { return }
        }
    }
}
