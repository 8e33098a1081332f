public import Logging
public import ServiceLifecycle

/// Expires the leases of shards that stopped heartbeating, every ``every``, until the group shuts
/// down; their partitions go to the survivors with new epochs. A failure (the table could not be
/// saved) is logged and retried on the next round.
public struct LeaseExpiryService<C: Clock>: Service where C.Duration == Duration {
    public let service: CoordinatorService
    public let clock: C
    /// Wall-clock milliseconds, the unit of leases.
    public let now: @Sendable () -> Int64
    public let logger: Logger
    /// Time between rounds. Default 500 ms.
    public var every: Duration = .milliseconds(500)

    public init(service: CoordinatorService, clock: C, now: @escaping @Sendable () -> Int64, logger: Logger) {
        self.service = service
        self.clock = clock
        self.now = now
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do { try await service.expireLeases(now: now()) } catch {
                logger.error("lease expiry failed", metadata: ["error": "\(error)"])
            }
            do { try await cancelWhenGracefulShutdown { try await clock.sleep(for: every) } } catch { return }
        }
    }
}
