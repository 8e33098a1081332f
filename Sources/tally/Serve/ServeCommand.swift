import ArgumentParser
import Coordinator
import Domain
import EventLog
import Foundation
import Hummingbird
import Logging
import Metrics
import Prometheus
import Roles
import ServiceLifecycle
import Shard

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
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        var configuration = ServeRole.Configuration(
            data: directory, operatorToken: secrets.operatorToken, raffleSecret: secrets.raffleSecret)
        configuration.address = .hostname(host, port: port)
        configuration.shards = shards
        configuration.metricsText = { registry.emitToString() }
        let demo = self.demo
        let role = try ServeRole(configuration: configuration, logger: logger) { cluster in
            guard demo else { return [] }
            return [
                DemoService(router: cluster, now: configuration.now, raffleSecret: secrets.raffleSecret, logger: logger)
            ]
        }
        logger.info(
            "serving",
            metadata: ["data": "\(data)", "address": "\(host):\(port)", "partitions": "\(directory.partitionCount)"])
        try await role.run()
        logger.info("stopped")
    }
}
