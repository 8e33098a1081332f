public import EventLog
public import Logging
public import ServiceLifecycle

/// Fires a node's timers (watch-time ticks, raffle period ends) every ``every`` until the group shuts
/// down gracefully, after acquiring again any partition whose backoff after a failed append passed. A round in flight finishes; failures are logged by the round itself.
public struct TimerService<C: Clock>: Service where C.Duration == Duration {
    public let node: ShardNode
    public let clock: C
    public let now: @Sendable () -> Timestamp
    /// Time between rounds. Default 1 s.
    public var every: Duration = .seconds(1)

    public init(node: ShardNode, clock: C, now: @escaping @Sendable () -> Timestamp) {
        self.node = node
        self.clock = clock
        self.now = now
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            // A partition whose append failed is acquired again here once its backoff has passed,
            // so it recovers without waiting for a request.
            await node.reacquireFailed()
            _ = await node.fireTimers(now: now())
            // Only the wait is cut short by a shutdown, never a round.
            do { try await cancelWhenGracefulShutdown { try await clock.sleep(for: every) } } catch { return }
        }
    }
}

/// Holds a node's (or a local cluster's) partitions while the group runs: acquires those with a
/// log at start (so their timers run), and on graceful shutdown releases every one — in-flight
/// appends finish, a snapshot is written, the lock is dropped. Listed before the HTTP server, it
/// is shut down after it: requests stop first, then partitions are released.
public struct PartitionsService: Service {
    let acquire: @Sendable () async throws -> Void
    let release: @Sendable () async -> Void
    let logger: Logger

    public init(
        logger: Logger, acquire: @escaping @Sendable () async throws -> Void,
        release: @escaping @Sendable () async -> Void
    ) {
        self.acquire = acquire
        self.release = release
        self.logger = logger
    }

    public func run() async throws {
        try await acquire()
        // Cancellation (a second signal) also ends the wait; the partitions are released either way.
        try? await gracefulShutdown()
        await release()
        logger.info("every partition released")
    }
}
