import AsyncHTTPClient
public import Coordinator
public import EventLog
public import Hummingbird
public import Logging
public import NIOCore
public import ServiceLifecycle
import Shard
public import UnixSignals

/// `tally coordinator`: shards heartbeat to it and learn what to hold and release; it expires lost
/// shards' leases, and forwards any guild's request to the shard that owns it.
///
/// Services, in start order: the HTTP client, lease expiry, HTTP (so requests stop before leases stop moving).
public struct CoordinatorRole: Sendable {
    public struct Configuration: Sendable {
        public var data: DataDirectory
        /// Where to listen. Default 127.0.0.1:7070.
        public var address: BindAddress = .hostname("127.0.0.1", port: 7070)
        /// Lease length in milliseconds. Default 5,000.
        public var leaseMilliseconds: Int64 = 5_000
        /// Wall-clock milliseconds, the unit of leases. Default: the system clock.
        public var now: @Sendable () -> Int64 = { Timestamp.now.rawValue }
        /// The Prometheus text of every metric, for `GET /metrics`. Default nil: no such endpoint.
        public var metricsText: (@Sendable () -> String)?
        /// Called once the server listens. Default: nothing.
        public var onServerRunning: @Sendable (any Channel) async -> Void = { _ in }

        public init(data: DataDirectory) { self.data = data }
    }

    public let service: CoordinatorService
    /// The services in start order (shutdown runs in reverse).
    public let services: [any Service]
    let logger: Logger

    /// Builds the role; the assignment persists in `DIR/coordinator.sqlite`.
    public init(configuration: Configuration, logger: Logger) throws {
        let data = configuration.data
        let service = try CoordinatorService(
            partitionCount: data.partitionCount, store: try AssignmentStore(path: data.path + "/coordinator.sqlite"),
            leaseMilliseconds: configuration.leaseMilliseconds, logger: logger)
        let client = HTTPClient.forwarding()
        var api = CoordinatorAPI(service: service, now: configuration.now)
        api.metricsText = configuration.metricsText
        // Any node accepts any guild's request: the coordinator forwards it to the owning shard.
        api.forward = { request, guild in
            let partition = data.partition(for: guild)
            for _ in 0..<50 {
                if let url = await service.ownerURL(of: partition) {
                    return try await ForwardingMiddleware<BasicRequestContext>.send(request, to: url, client: client)
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            throw CoordinatorError(.noOwner, "partition \(partition) has no owner yet; retry")
        }
        let app = Application(
            router: api.router(),
            configuration: .init(address: configuration.address, serverName: "tally-coordinator"),
            onServerRunning: configuration.onServerRunning, logger: logger)
        self.service = service
        self.logger = logger
        self.services = [
            HTTPClientService(client: client),
            LeaseExpiryService(service: service, clock: ContinuousClock(), now: configuration.now, logger: logger), app,
        ]
    }

    /// The group that runs the services; a graceful shutdown (a signal, or
    /// ``ServiceLifecycle/ServiceGroup/triggerGracefulShutdown()``) stops them in reverse order.
    public func serviceGroup(gracefulShutdownSignals signals: [UnixSignal] = [.sigterm, .sigint]) -> ServiceGroup {
        ServiceGroup(services: services, gracefulShutdownSignals: signals, logger: logger)
    }

    /// Runs every service until SIGINT or SIGTERM (or `signals`), then shuts down in order.
    public func run(gracefulShutdownSignals signals: [UnixSignal] = [.sigterm, .sigint]) async throws {
        try await serviceGroup(gracefulShutdownSignals: signals).run()
    }
}
