import ArgumentParser
import Domain
import EventLog
import Foundation
import Hummingbird
import Coordinator
import Logging
import Metrics
import Prometheus
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

    @Flag(help: "Also drive a simulated community (a few guilds chatting, streaming, gifting, buying, drawing raffles).")
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
        let cluster = try LocalCluster(
            configuration: .init(data: directory), shards: shards, store: try AssignmentStore(path: data + "/coordinator.sqlite"),
            logger: logger)
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        var api = ShardAPI(
            node: cluster, operatorToken: secrets.operatorToken, raffleSecret: secrets.raffleSecret,
            now: { Timestamp(milliseconds: Int64(Date().timeIntervalSince1970 * 1000)) })
        api.metricsText = { registry.emitToString() }
        api.clusterDescription = { await cluster.description }
        let app = Application(
            router: api.router(),
            configuration: .init(address: .hostname(host, port: port), serverName: "tally"),
            logger: logger)
        try await cluster.acquireExisting()
        for (shard, owned) in await cluster.assignment.sorted(by: { $0.key < $1.key }) {
            logger.info("shard", metadata: ["shard": "\(shard)", "partitions": "\(owned.map(\.description).joined(separator: ","))"])
        }
        logger.info("serving", metadata: ["data": "\(data)", "address": "\(host):\(port)", "partitions": "\(directory.partitionCount)"])
        let now = api.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            // Watch-time ticks and raffle period ends, checked every second.
            for node in cluster.nodes.values {
                group.addTask { await node.runTimers(clock: ContinuousClock(), now: now, raffleSecret: secrets.raffleSecret) }
            }
            if demo {
                group.addTask { await Self.runDemo(router: cluster, now: now, raffleSecret: secrets.raffleSecret, logger: logger) }
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
    static func runDemo(router: any NodeRouter, now: @escaping @Sendable () -> Timestamp, raffleSecret: [UInt8], logger: Logger) async {
        var configuration = CommunitySimulator.Configuration()
        configuration.guilds = 3
        configuration.chattersPerGuild = 25
        configuration.seed = UInt64(now().rawValue)
        configuration.raffleSecret = raffleSecret
        var simulator = CommunitySimulator(configuration)
        logger.info("demo community", metadata: ["guilds": "\(simulator.guilds.map(\.description).joined(separator: ","))"])
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

/// The operator token and the raffle secret, generated at first start (`DIR/secrets.json`, mode 0600).
struct Secrets: Codable {
    var operatorToken: String
    var raffleSecretHex: String

    var raffleSecret: [UInt8] {
        stride(from: 0, to: raffleSecretHex.count, by: 2).compactMap { i in
            let start = raffleSecretHex.index(raffleSecretHex.startIndex, offsetBy: i)
            return UInt8(raffleSecretHex[start..<raffleSecretHex.index(start, offsetBy: 2)], radix: 16)
        }
    }

    enum CodingKeys: String, CodingKey {
        case operatorToken = "operator_token"
        case raffleSecretHex = "raffle_secret"
    }

    static func load(dataDirectory: String) throws -> Secrets {
        let path = dataDirectory + "/secrets.json"
        var secrets: Secrets
        if let data = FileManager.default.contents(atPath: path) {
            secrets = try JSONDecoder().decode(Secrets.self, from: data)
        } else {
            var rng = SystemRandomNumberGenerator()
            func random(_ bytes: Int) -> String { (0..<bytes).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &rng)) }.joined() }
            secrets = Secrets(operatorToken: random(24), raffleSecretHex: random(32))
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            FileManager.default.createFile(
                atPath: path, contents: try encoder.encode(secrets), attributes: [.posixPermissions: 0o600])
            FileHandle.standardOutput.write(Data("operator token: \(secrets.operatorToken) (saved in \(path))\n".utf8))
        }
        if let token = ProcessInfo.processInfo.environment["TALLY_OPERATOR_TOKEN"], !token.isEmpty {
            secrets.operatorToken = token
        }
        return secrets
    }
}
