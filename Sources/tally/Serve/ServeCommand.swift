import ArgumentParser
import Coordinator
import Discord
import Domain
import EventLog
import Fakes
import Foundation
import Hummingbird
import Kick
import Logging
import Metrics
import PostgresStore
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

    @Option(help: "Partitions of a new data directory (default 16; an existing one keeps its own).")
    var partitions: Int?

    @Option(help: "Shard nodes to run in this process (a coordinator spreads the partitions over them).")
    var shards: Int = 2

    @Flag(
        help: """
            Also drive a demo: without a Kick app configured, a fake Kick on --port + 1 sends a simulated stream \
            through the real webhook ingress; with one, a simulated community through commands. Without a \
            Discord app, a fake Discord on --port + 2 takes the role grants and messages, and signed slash \
            commands reach the real interactions endpoint.
            """)
    var demo = false

    @Option(
        help: "The service's public base URL, where Kick sends viewers back after linking (default http://HOST:PORT).")
    var publicURL: String?
    @Option(
        help: """
            A drand relay (e.g. https://api.drand.sh) the timers fetch each closed raffle period's beacon round from; \
            without it the value comes in by the record_beacon command.
            """)
    var drandRelay: String?

    @OptionGroup var server: ServerOptions
    @OptionGroup var logStore: ServerStoreOptions
    @Option(help: "Where POST /v1/admin/backups (tally backup --url) writes backups (default DATA/backups).")
    var backupDir: String?

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard shards >= 1, shards <= 64 else { throw ValidationError("--shards must be 1 to 64") }
    }

    func run() async throws {
        var logging = self.logging
        if logging.logLevel == .notice { logging.logLevel = .info }
        let logger = logging.makeLogger("tally.serve")
        // An existing directory keeps its own count (one `tally cluster --partitions 4` made, say);
        // only an explicit --partitions that disagrees is refused.
        let existing = FileManager.default.fileExists(atPath: data + "/tally.json")
        let (directory, store) = try await logStore.open(
            data: data,
            partitions: existing || logStore.url != nil
                ? partitions : partitions ?? DataDirectory.defaultPartitionCount,
            logger: logger)
        let secrets = try Secrets.load(dataDirectory: data)
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        var configuration = ServeRole.Configuration(
            data: directory, operatorToken: secrets.operatorToken, raffleSecret: secrets.raffleSecret)
        configuration.store = store
        configuration.storeService = store
        configuration.address = .hostname(host, port: port)
        configuration.limits = server.limits
        configuration.shards = shards
        configuration.metricsText = { registry.emitToString() }
        configuration.publicBaseURL = publicURL ?? "http://\(host):\(port)"
        configuration.backupDirectory = backupDir
        configuration.kick = try KickConfiguration.fromEnvironment()
        configuration.beacon = drandRelay.map { DrandHTTPBeacon(relay: $0) }
        var fakeKick: FakeKick?
        if demo, configuration.kick == nil {
            let fake = try FakeKick()
            configuration.kick = fake.configuration(base: "http://127.0.0.1:\(port + 1)")
            fakeKick = fake
        }
        if let kick = configuration.kick { logger.info("Kick", metadata: ["app": "\(kick)"]) }
        configuration.discord = try DiscordConfiguration.fromEnvironment()
        var fakeDiscord: FakeDiscord?
        if demo, configuration.discord == nil {
            let fake = FakeDiscord()
            configuration.discord = fake.configuration(base: "http://127.0.0.1:\(port + 2)")
            fakeDiscord = fake
        }
        if let discord = configuration.discord { logger.info("Discord", metadata: ["app": "\(discord)"]) }
        let (demo, serviceURL, now) = (self.demo, "http://\(host):\(port)", configuration.now)
        let role = try ServeRole(configuration: configuration, logger: logger) { cluster -> [any Service] in
            guard demo else { return [] }
            let discordDemo: [any Service] =
                fakeDiscord.map {
                    [
                        $0.application(address: .hostname("127.0.0.1", port: port + 2)),
                        DiscordDemoService(fake: $0, serviceURL: serviceURL, logger: logger),
                    ]
                } ?? []
            if let fake = fakeKick {
                return discordDemo + [
                    fake.application(address: .hostname("127.0.0.1", port: port + 1)),
                    KickDemoService(fake: fake, router: cluster, serviceURL: serviceURL, now: now, logger: logger),
                ]
            }
            return discordDemo + [
                DemoService(router: cluster, now: now, raffleSecret: secrets.raffleSecret, logger: logger)
            ]
        }
        logger.info(
            "serving",
            metadata: [
                "data": "\(data)", "address": "\(host):\(port)", "partitions": "\(directory.partitionCount)",
                "store": "\(store?.location ?? "files in the data directory")",
            ])
        try await role.run()
        logger.info("stopped")
    }
}
