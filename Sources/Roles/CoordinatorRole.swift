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
/// Services, in start order: the HTTP client, the shared store's services (its pool and the
/// election, when the state is shared), lease expiry, HTTP (so requests stop before leases stop
/// moving, and the election stops after both).
public struct CoordinatorRole: Sendable {
    public struct Configuration: Sendable {
        /// The data directory: the cluster's partition count, and `DIR/coordinator.sqlite` holds the
        /// state. Nil when the state is ``shared``.
        public var data: DataDirectory?
        /// The state in a store shared with other coordinators, one of them active at a time. Nil:
        /// `DIR/coordinator.sqlite`, and this coordinator is always active.
        public var shared: SharedState?
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

        /// A coordinator whose state is in `shared`.
        public init(shared: SharedState, clusterKey: ClusterKey) {
            self.shared = shared
            self.clusterKey = clusterKey
        }
    }

    /// Coordinator state shared by several coordinators (in PostgreSQL): the store, and the
    /// services that run it and decide when this coordinator is the active one.
    public struct SharedState: Sendable {
        public var partitionCount: Int
        public var store: any CoordinatorStateStore
        /// The services to run for `service` (a coordinator standing by until they activate it):
        /// the store's connection pool and the election (see `PostgresCoordinatorElection`).
        public var services: @Sendable (CoordinatorService) -> [any Service]

        public init(
            partitionCount: Int, store: any CoordinatorStateStore,
            services: @escaping @Sendable (CoordinatorService) -> [any Service]
        ) {
            self.partitionCount = partitionCount
            self.store = store
            self.services = services
        }
    }

    public let service: CoordinatorService
    /// The services in start order (shutdown runs in reverse).
    public let services: [any Service]
    let logger: Logger

    /// Builds the role; the state persists in `DIR/coordinator.sqlite`, or in the shared store.
    ///
    /// - Precondition: the configuration has a data directory or a shared state.
    public init(configuration: Configuration, logger: Logger) throws {
        let service: CoordinatorService
        let partitionCount: Int
        var stateServices: [any Service] = []
        if let shared = configuration.shared {
            partitionCount = shared.partitionCount
            service = CoordinatorService(
                partitionCount: partitionCount, sharing: shared.store,
                leaseMilliseconds: configuration.leaseMilliseconds, logger: logger)
            stateServices = shared.services(service)
        } else {
            guard let data = configuration.data else {
                preconditionFailure("a coordinator needs a data directory or a shared state")
            }
            partitionCount = data.partitionCount
            service = try CoordinatorService(
                partitionCount: partitionCount, store: try AssignmentStore(path: data.path + "/coordinator.sqlite"),
                leaseMilliseconds: configuration.leaseMilliseconds, logger: logger)
        }
        let client = HTTPClient.forwarding()
        let authenticator = ClusterAuthenticator(key: configuration.clusterKey)
        var api = CoordinatorAPI(service: service, authenticator: authenticator, now: configuration.now)
        api.metricsText = configuration.metricsText
        // Any node accepts any guild's request: the coordinator forwards it, signed, to the owning
        // shard — only ever to a URL a shard announced in a signed heartbeat.
        api.forward = { request, guild in
            let partition = DataDirectory.partition(for: guild, count: partitionCount)
            for _ in 0..<50 {
                if let url = try await service.ownerURL(of: partition) {
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
        var services: [any Service] = [HTTPClientService(client: client)]
        services += stateServices
        services.append(
            LeaseExpiryService(service: service, clock: ContinuousClock(), now: configuration.now, logger: logger))
        services.append(app)
        self.services = services
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
