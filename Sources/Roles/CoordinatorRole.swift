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
        /// Idle timeout and connection limit of the HTTP server. Default ``HTTPServerLimits/init()``.
        public var limits = HTTPServerLimits()
        /// Called once the server listens. Default: nothing.
        public var onServerRunning: @Sendable (any Channel) async -> Void = { _ in }

        /// The key every node of the cluster signs its calls to the others with.
        public var clusterKey: ClusterKey

        public init(data: DataDirectory, clusterKey: ClusterKey) {
            self.data = data
            self.clusterKey = clusterKey
        }
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
        let authenticator = ClusterAuthenticator(key: configuration.clusterKey)
        var api = CoordinatorAPI(service: service, authenticator: authenticator, now: configuration.now)
        api.metricsText = configuration.metricsText
        // Any node accepts any guild's request: the coordinator forwards it, signed, to the owning
        // shard — only ever to a URL a shard announced in a signed heartbeat.
        api.forward = { request, guild in
            let partition = data.partition(for: guild)
            for _ in 0..<50 {
                if let url = await service.ownerURL(of: partition) {
                    return try await ForwardingMiddleware<BasicRequestContext>.send(
                        request, to: url, client: client, authenticator: authenticator)
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            throw CoordinatorError(.noOwner, "partition \(partition) has no owner yet; retry")
        }
        let app = configuration.limits.application(
            router: api.router(), address: configuration.address, serverName: "tally-coordinator",
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
