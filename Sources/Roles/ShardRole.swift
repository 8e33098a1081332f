public import AsyncHTTPClient
public import Coordinator
public import Discord
public import EventLog
public import Hummingbird
public import Kick
public import Logging
public import NIOCore
public import ServiceLifecycle
public import Shard
public import UnixSignals

/// `tally shard`: one shard process of a cluster. It holds what the coordinator grants, forwards
/// requests for the rest, and runs the timers of what it holds.
///
/// With a Discord app it also answers interactions (one for a guild another shard owns is forwarded
/// there, signature headers and all, and verified again). With a Kick app it takes Kick's webhooks:
/// a verified one is routed to the guilds this shard holds and sent, signature headers and all, to
/// every other shard owning partitions, which verifies it again and routes it to its own; link steps
/// go to their guild's owner. The outbox delivers the Kick and Discord effects of the partitions it holds.
///
/// Services, in start order: the log store's (PostgreSQL's pool, with `--store`), the HTTP client, heartbeats, partitions, online rebuilds, the outbox,
/// timers, deferred interactions, HTTP. A graceful shutdown runs in reverse: stop taking requests and drain, finish
/// deferred interactions, stop the timers and the outbox, stop an online rebuild between partitions, release every partition (snapshot and
/// unlock), and only then stop heartbeating and close the store.
public struct ShardRole: Sendable {
    public struct Configuration: Sendable {
        public var data: DataDirectory
        public var shard: ShardID
        /// The coordinator's base URL.
        public var coordinator: String
        /// Further coordinators sharing its state (one of them active), asked in turn when one does
        /// not answer or stands by. Default none.
        public var moreCoordinators: [String] = []
        /// This shard's base URL, as other nodes reach it.
        public var url: String
        public var operatorToken: String
        public var raffleSecret: [UInt8]
        /// The key every node of the cluster signs its calls to the others with.
        public var clusterKey: ClusterKey
        /// Where to listen. Default 127.0.0.1:8080.
        public var address: BindAddress = .hostname("127.0.0.1", port: 8080)
        /// The Prometheus text for `GET /metrics` (nil: no such endpoint). Default nil.
        public var metricsText: (@Sendable () -> String)?
        /// Wall-clock time commands are stamped with. Default: the system clock.
        public var now: @Sendable () -> Timestamp = { Timestamp.now }
        /// Where the timers fetch a closed period's drand value (nil: only `record_beacon` brings it). Default nil.
        public var beacon: (any RandomnessBeacon)?
        /// Idle timeout and connection limit of the HTTP server. Default ``HTTPServerLimits/init()``.
        public var limits = HTTPServerLimits()
        /// The deployment's Kick app (nil: no Kick ingress, no Kick deliveries). Default nil.
        public var kick: KickConfiguration?
        /// The deployment's Discord app (nil: no interactions endpoint, no Discord deliveries). Default nil.
        public var discord: DiscordConfiguration?
        /// The service's public base URL, for link buttons. Default `http://127.0.0.1:8080`.
        public var publicBaseURL = "http://127.0.0.1:8080"
        /// Where `POST /v1/admin/backups` writes backups. Default nil: `DIR/backups`.
        public var backupDirectory: String?
        /// Where partition logs and snapshots are kept. Default nil: the files of ``data``.
        public var store: (any LogStore)?
        /// The service that runs ``store`` (a `PostgresLogStore`), started first and stopped last.
        /// Default nil.
        public var storeService: (any Service)?
        /// Called once the server listens. Default: nothing.
        public var onServerRunning: @Sendable (any Channel) async -> Void = { _ in }

        public init(
            data: DataDirectory, shard: ShardID, coordinator: String, url: String, operatorToken: String,
            raffleSecret: [UInt8], clusterKey: ClusterKey
        ) {
            self.clusterKey = clusterKey
            self.data = data
            self.shard = shard
            self.coordinator = coordinator
            self.url = url
            self.operatorToken = operatorToken
            self.raffleSecret = raffleSecret
        }
    }

    public let node: ShardNode
    public let agent: ShardAgent
    /// The services in start order (shutdown runs in reverse).
    public let services: [any Service]
    let logger: Logger

    /// - Throws: ``Discord/DiscordError`` `configuration` when the Discord public key is not an Ed25519 key.
    public init(configuration: Configuration, logger: Logger) async throws {
        var nodeConfiguration = ShardNode.Configuration(data: configuration.data, store: configuration.store)
        nodeConfiguration.raffleSecret = configuration.raffleSecret
        nodeConfiguration.beacon = configuration.beacon
        let node = ShardNode(configuration: nodeConfiguration, logger: logger)
        await node.apply(hold: [:])  // serve nothing until the coordinator says what
        let client = HTTPClient.forwarding()
        let authenticator = ClusterAuthenticator(key: configuration.clusterKey)
        let agent = ShardAgent(
            shard: configuration.shard, url: configuration.url,
            coordinators: [configuration.coordinator] + configuration.moreCoordinators, node: node,
            client: client, authenticator: authenticator, logger: logger)
        var api = ShardAPI(node: node, operatorToken: configuration.operatorToken, now: configuration.now)
        api.keys = GuildKeyStore(dataDirectory: configuration.data.path)
        api.clusterAuthenticator = authenticator
        api.metricsText = configuration.metricsText
        let forwarding = ForwardingMiddleware<BasicRequestContext>(
            agent: agent, data: configuration.data, client: client)
        api.forwarding = forwarding
        // Overlay streams of guilds another shard owns are relayed from it, over a client of their own.
        let streams = HTTPClient.streaming()
        var overlays = OverlayServer(nodes: node, publicBaseURL: configuration.publicBaseURL)
        overlays.relay = { guild, request in
            try await forwarding.relayStreamIfElsewhere(guild: guild, request, client: streams)
        }
        api.overlays = overlays
        var discordServices: [any Service] = []
        var senders: [any DeliverySender] = []
        if let kick = configuration.kick {
            let setup = try KickSetup(
                configuration: kick, raffleSecret: configuration.raffleSecret,
                publicBaseURL: configuration.publicBaseURL, nodes: node, client: client, now: configuration.now,
                logger: logger, forward: forwarding)
            api.kick = setup.ingress
            senders.append(setup.sender)
        }
        if let discord = configuration.discord {
            let setup = try DiscordSetup(
                configuration: discord, raffleSecret: configuration.raffleSecret,
                publicBaseURL: configuration.publicBaseURL, nodes: node, client: client, now: configuration.now,
                logger: logger, forward: forwarding)
            api.discord = setup.ingress
            discordServices.append(setup.deferredService)
            senders.append(setup.sender)
        }
        // The outbox delivers the Kick and Discord effects of the partitions this shard holds.
        let outbox: [any Service] =
            senders.isEmpty
            ? []
            : [
                DeliveryService(
                    node: node, senders: senders, clock: ContinuousClock(), now: configuration.now, logger: logger)
            ]
        let operations = Operations(
            source: configuration.shard.rawValue, nodes: [(configuration.shard.rawValue, node)],
            data: configuration.data, backupRoot: configuration.backupDirectory, logger: logger)
        api.operations = operations
        let app = configuration.limits.application(
            router: api.router(), address: configuration.address, serverName: "tally",
            onServerRunning: configuration.onServerRunning, logger: logger)
        self.node = node
        self.agent = agent
        self.logger = logger
        self.services =
            (configuration.storeService.map { [$0] } ?? []) + [
                HTTPClientService(client: client), HTTPClientService(client: streams),
                HeartbeatService(agent: agent, clock: ContinuousClock()),
                PartitionsService(logger: logger, acquire: {}, release: { await node.shutdown() }),
                operations.rebuilds,
            ] + outbox + [TimerService(node: node, clock: ContinuousClock(), now: configuration.now)] + discordServices
            + [app]
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

extension HTTPClient {
    /// A client for forwarding and heartbeats: a dead peer refuses connections at once, so fail fast
    /// and let the request wait for the new owner.
    public static func forwarding() -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .milliseconds(500), read: .seconds(10))
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }
}
