import AsyncHTTPClient
import Coordinator
public import Discord
public import EventLog
import Foundation
public import Hummingbird
public import Kick
public import Logging
public import NIOCore
public import Projections
public import ServiceLifecycle
public import Shard
public import UnixSignals

/// `tally serve`: the coordinator's assignment and N shard nodes in one process, behind one port.
///
/// The services run in one ``ServiceLifecycle/ServiceGroup``, listed in start order and shut down
/// gracefully in reverse: the HTTP server stops taking requests and drains, deferred interactions are
/// finished, the timers stop, the outbox workers stop (a delivery in flight finishes and records its
/// outcome), an online rebuild stops between partitions, then every partition
/// is released (in-flight appends finish, a snapshot is written, the lock dropped), the HTTP client
/// closes, and last the log store's service (PostgreSQL's pool, with `--store`) stops.
public struct ServeRole: Sendable {
    public struct Configuration: Sendable {
        public var data: DataDirectory
        public var operatorToken: String
        /// The deployment secret raffle seeds derive from.
        public var raffleSecret: [UInt8]
        /// Where to listen. Default 127.0.0.1:8080.
        public var address: BindAddress = .hostname("127.0.0.1", port: 8080)
        /// Shard nodes in this process. Default 2.
        public var shards = 2
        /// The Prometheus text for `GET /metrics` (nil: no such endpoint). Default nil.
        public var metricsText: (@Sendable () -> String)?
        /// Wall-clock time commands are stamped with. Default: the system clock.
        public var now: @Sendable () -> Timestamp = { Timestamp.now }
        /// Where the timers fetch a closed period's drand value (nil: only `record_beacon` brings it). Default nil.
        public var beacon: (any RandomnessBeacon)?
        /// The deployment's Kick app (nil: no Kick ingress, no Kick deliveries). Default nil.
        public var kick: KickConfiguration?
        /// The deployment's Discord app (nil: no interactions endpoint, no Discord deliveries). Default nil.
        public var discord: DiscordConfiguration?
        /// The service's public base URL, for links Kick redirects back to. Default `http://127.0.0.1:8080`.
        public var publicBaseURL = "http://127.0.0.1:8080"
        /// Idle timeout and connection limit of the HTTP server. Default ``HTTPServerLimits/init()``.
        public var limits = HTTPServerLimits()
        /// Where `POST /v1/admin/backups` writes backups. Default nil: `DIR/backups`.
        public var backupDirectory: String?
        /// Where partition logs and snapshots are kept. Default nil: the files of ``data``.
        public var store: (any LogStore)?
        /// The service that runs ``store`` (a `PostgresLogStore`), started first and stopped last.
        /// Default nil.
        public var storeService: (any Service)?
        /// The read-model projections and their versions. Default ``Projections/ProjectionCatalog/current``.
        public var catalog: ProjectionCatalog = .current
        /// Called once the server listens (tests read the bound port from the channel). Default: nothing.
        public var onServerRunning: @Sendable (any Channel) async -> Void = { _ in }

        public init(data: DataDirectory, operatorToken: String, raffleSecret: [UInt8]) {
            self.data = data
            self.operatorToken = operatorToken
            self.raffleSecret = raffleSecret
        }
    }

    public let cluster: LocalCluster
    /// The services in start order (shutdown runs in reverse).
    public let services: [any Service]
    let logger: Logger

    /// Builds the role: opens the assignment (`DIR/coordinator.sqlite`) and wires the nodes, their
    /// timers, the HTTP API and the services `extraServices` makes for the cluster (the demo, say;
    /// stopped before the timers).
    public init(
        configuration: Configuration, logger: Logger, extraServices: (LocalCluster) -> [any Service] = { _ in [] }
    ) throws {
        var nodeConfiguration = ShardNode.Configuration(data: configuration.data, store: configuration.store)
        nodeConfiguration.raffleSecret = configuration.raffleSecret
        nodeConfiguration.beacon = configuration.beacon
        nodeConfiguration.catalog = configuration.catalog
        let cluster = try LocalCluster(
            configuration: nodeConfiguration, shards: configuration.shards,
            store: try AssignmentStore(path: configuration.data.path + "/coordinator.sqlite"), logger: logger)
        var api = ShardAPI(node: cluster, operatorToken: configuration.operatorToken, now: configuration.now)
        api.metricsText = configuration.metricsText
        api.clusterView = { await cluster.view }
        api.keys = GuildKeyStore(dataDirectory: configuration.data.path)
        // The nodes of a local cluster share the process: nothing is forwarded between them, so the
        // API's own random cluster key (which refuses every signed request) stays.
        api.overlays = OverlayServer(nodes: cluster, publicBaseURL: configuration.publicBaseURL)
        let operations = Operations(
            source: "serve", nodes: cluster.nodes.keys.sorted().map { ($0.rawValue, cluster.nodes[$0]!) },
            data: configuration.data, backupRoot: configuration.backupDirectory, logger: logger)
        api.operations = operations
        let client = HTTPClient.forwarding()
        var senders: [any DeliverySender] = []
        var deferred: [any Service] = []
        if let kick = configuration.kick {
            let setup = try KickSetup(
                configuration: kick, raffleSecret: configuration.raffleSecret,
                publicBaseURL: configuration.publicBaseURL,
                nodes: cluster, client: client, now: configuration.now, logger: logger)
            api.kick = setup.ingress
            senders.append(setup.sender)
        }
        if let discord = configuration.discord {
            let setup = try DiscordSetup(
                configuration: discord, raffleSecret: configuration.raffleSecret,
                publicBaseURL: configuration.publicBaseURL, nodes: cluster, client: client, now: configuration.now,
                logger: logger)
            api.discord = setup.ingress
            senders.append(setup.sender)
            deferred.append(setup.deferredService)
        }
        let app = configuration.limits.application(
            router: api.router(), address: configuration.address, serverName: "tally",
            onServerRunning: configuration.onServerRunning, logger: logger)
        let partitions = PartitionsService(
            logger: logger,
            acquire: {
                try await cluster.acquireExisting()
                for (shard, owned) in await cluster.assignment.sorted(by: { $0.key < $1.key }) {
                    logger.info(
                        "shard",
                        metadata: [
                            "shard": "\(shard)", "partitions": "\(owned.map(\.description).joined(separator: ","))",
                        ])
                }
            },
            release: { await cluster.shutdown() })
        let nodes = cluster.nodes.keys.sorted().map { cluster.nodes[$0]! }
        let timers: [any Service] = nodes.map {
            TimerService(node: $0, clock: ContinuousClock(), now: configuration.now)
        }
        let outboxes: [any Service] =
            senders.isEmpty
            ? []
            : nodes.map {
                DeliveryService(
                    node: $0, senders: senders, clock: ContinuousClock(), now: configuration.now, logger: logger)
            }
        self.cluster = cluster
        self.services =
            (configuration.storeService.map { [$0] } ?? []) + [
                HTTPClientService(client: client), partitions, operations.rebuilds,
            ] + outboxes + timers + deferred
            + extraServices(cluster) + [app]
        self.logger = logger
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
