import ArgumentParser
import Coordinator
import Domain
import EventLog
import Foundation
import Hummingbird
import Logging
import Metrics
import Prometheus
import Shard
import Simulation

/// `tally serve`: one process serving every partition of a data directory over HTTP.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the bot's API for every guild of a data directory (SIGINT or SIGTERM stops it gracefully).",
        discussion: """
            Commands (POST /v1/guilds/{guild}/commands) need Authorization: Bearer <operator token>. The token is
            TALLY_OPERATOR_TOKEN, or the one generated at first start and saved in DIR/secrets.json.
            """
    )

    @Option(help: "The data directory (created if missing).")
    var data: String = "./tally-data"

    @Option(help: "The address to listen on.")
    var host: String = "127.0.0.1"

    @Option(help: "The port to listen on.")
    var port: Int = 8080

    @Option(help: "Partitions of a new data directory.")
    var partitions: Int = DataDirectory.defaultPartitionCount

    @Option(help: "Shard nodes to run in this process (a coordinator spreads the partitions over them).")
    var shards: Int = 2

    @Flag(
        help: "Also drive a simulated community (a few guilds chatting, streaming, gifting, buying, drawing raffles).")
    var demo = false

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard shards >= 1, shards <= 64 else { throw ValidationError("--shards must be 1 to 64") }
    }

    func run() async throws {
        var logging = self.logging
        if logging.logLevel == .notice { logging.logLevel = .info }
        let logger = logging.makeLogger("tally.serve")
        let directory = try DataDirectory.open(path: data, creatingWith: partitions)
        let secrets = try Secrets.load(dataDirectory: data)
        var nodeConfiguration = ShardNode.Configuration(data: directory)
        nodeConfiguration.raffleSecret = secrets.raffleSecret
        let cluster = try LocalCluster(
            configuration: nodeConfiguration, shards: shards,
            store: try AssignmentStore(path: data + "/coordinator.sqlite"),
            logger: logger)
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        var api = ShardAPI(
            node: cluster, operatorToken: secrets.operatorToken,
            now: { Timestamp(milliseconds: Int64(Date().timeIntervalSince1970 * 1000)) })
        api.metricsText = { registry.emitToString() }
        api.clusterView = { await cluster.view }
        let app = Application(
            router: api.router(),
            configuration: .init(address: .hostname(host, port: port), serverName: "tally"),
            logger: logger)
        try await cluster.acquireExisting()
        for (shard, owned) in await cluster.assignment.sorted(by: { $0.key < $1.key }) {
            logger.info(
                "shard",
                metadata: ["shard": "\(shard)", "partitions": "\(owned.map(\.description).joined(separator: ","))"])
        }
        logger.info(
            "serving",
            metadata: ["data": "\(data)", "address": "\(host):\(port)", "partitions": "\(directory.partitionCount)"])
        let now = api.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            // Watch-time ticks and raffle period ends, checked every second.
            for node in cluster.nodes.values {
                group.addTask {
                    await node.runTimers(clock: ContinuousClock(), now: now)
                }
            }
            if demo {
                group.addTask {
                    await Self.runDemo(router: cluster, now: now, raffleSecret: secrets.raffleSecret, logger: logger)
                }
            }
            try await app.runService()
            group.cancelAll()
        }
        await cluster.shutdown()
        logger.info("stopped: every partition released")
    }
}

extension ServeCommand {
    /// Feeds a simulated community through the node in real time: about one simulated minute of
    /// three guilds per second, so the leaderboards visibly move.
    static func runDemo(
        router: any NodeRouter, now: @escaping @Sendable () -> Timestamp, raffleSecret: [UInt8], logger: Logger
    ) async {
        var configuration = CommunitySimulator.Configuration()
        configuration.guilds = 3
        configuration.chattersPerGuild = 25
        configuration.seed = UInt64(now().rawValue)
        configuration.raffleSecret = raffleSecret
        var simulator = CommunitySimulator(configuration)
        logger.info(
            "demo community", metadata: ["guilds": "\(simulator.guilds.map(\.description).joined(separator: ","))"])
        var lastMinute = simulator.now
        while !Task.isCancelled {
            let step = simulator.next()
            var context = step.context
            context.time = now()
            _ = try? await router.node(for: step.guild).handle(step.command, guild: step.guild, context: context)
            if simulator.now > lastMinute {
                lastMinute = simulator.now
                do { try await Task.sleep(for: .seconds(1)) } catch { return }
            }
        }
    }
}
