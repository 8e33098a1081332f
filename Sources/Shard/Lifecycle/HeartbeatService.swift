import Logging
public import ServiceLifecycle

/// Heartbeats a shard to its coordinator every ``every`` and carries out the orders of each answer
/// (see ``ShardAgent/beat()``), until the group shuts down. Listed first, it stops last: partitions
/// are released while the lease is still held.
///
/// A shard that cannot reach the coordinator for a whole ``lease`` fences itself: it releases every
/// partition, since by then the coordinator may have granted them to another shard.
///
/// Meanwhile it holds a presence connection open (``ShardAgent/holdPresence(heartbeatNow:)``): the
/// coordinator ends the lease of a shard whose connection breaks, and tells the others to heartbeat
/// at once, so a shard that dies is replaced in well under a second. The connection closes last,
/// after the partitions were released in a graceful shutdown.
public struct HeartbeatService<C: Clock>: Service where C.Duration == Duration {
    public let agent: ShardAgent
    public let clock: C
    /// Time between heartbeats. Default 1 s.
    public var every: Duration = .seconds(1)
    /// The coordinator's lease. Default 5 s.
    public var lease: Duration = .seconds(5)
    /// Time before opening another presence connection after one ended. Default 250 ms.
    public var presenceRetry: Duration = .milliseconds(250)

    public init(agent: ShardAgent, clock: C) {
        self.agent = agent
        self.clock = clock
    }

    public func run() async throws {
        // Woken by the timer, and at once when the presence stream says the orders changed.
        let (wakes, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                while !Task.isCancelled {
                    wake.yield()
                    try? await clock.sleep(for: every)
                }
            }
            group.addTask { await holdPresence(wake: wake) }
            await withGracefulShutdownHandler {
                await beat(on: wakes)
            } onGracefulShutdown: {
                wake.finish()
            }
            // Ends the presence connection last: the coordinator then ends this shard's lease at once.
            group.cancelAll()
        }
    }

    /// Heartbeats each time `wakes` yields, until it finishes.
    private func beat(on wakes: AsyncStream<Void>) async {
        var lastBeat = clock.now
        var fenced = false
        for await _ in wakes {
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
        }
    }

    /// Keeps a presence connection open to the coordinator (opening another when one ends), until
    /// cancelled; its `orders` lines wake the heartbeat.
    private func holdPresence(wake: AsyncStream<Void>.Continuation) async {
        while !Task.isCancelled {
            do { try await agent.holdPresence { wake.yield() } } catch {
                agent.logger.debug(
                    "presence connection ended", metadata: ["coordinator": "\(agent.coordinator)", "error": "\(error)"])
            }
            try? await clock.sleep(for: presenceRetry)
        }
    }
}
