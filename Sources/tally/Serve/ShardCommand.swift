import ArgumentParser
import AsyncHTTPClient
import Coordinator
import Discord
import Domain
import EventLog
import Foundation
import Hummingbird
import Kick
import Logging
import Metrics
import PostgresStore
import Prometheus
import Roles
import Shard

/// `tally shard --coordinator URL --data DIR --port P`: one shard process of a cluster.
struct ShardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shard",
        abstract: "Run one shard of a cluster: hold the partitions the coordinator grants, forward the rest.",
        discussion: """
            With files, shards on one machine share the data directory; each partition's lock keeps its ownership \
            exclusive. With --store (or TALLY_STORE), the logs are in PostgreSQL, fenced by epochs in the database, \
            and each shard may run on its own machine with a data directory of its own (read models, keys, \
            secrets.json: give every shard the same secrets.json).
            """
    )

    @Option(
        help: ArgumentHelp(
            "A coordinator's base URL (default http://127.0.0.1:7070).",
            discussion:
                "Repeat it, or separate URLs with commas, for coordinators sharing a PostgreSQL store: one is active, the others stand by, and the shard asks each in turn."
        ))
    var coordinator: [String] = []
    @Option(help: "The data directory (shared by the shards of one machine).") var data: String = "./tally-data"
    @Option(help: "The address to listen on.") var host: String = "127.0.0.1"
    @Option(help: "The port to listen on.") var port: Int = 8080
    @Option(help: "This shard's name (default: host:port).") var name: String?
    @Option(help: "This shard's base URL as other nodes reach it (default: http://HOST:PORT).") var url: String?
    @Option(help: ArgumentHelp(ClusterKeyHelp.text, valueName: "file")) var clusterKeyFile: String?
    @Option(
        help: """
            A drand relay (e.g. https://api.drand.sh) the timers fetch each closed raffle period's beacon round from; \
            without it the value comes in by the record_beacon command.
            """)
    var drandRelay: String?
    @OptionGroup var server: ServerOptions
    @OptionGroup var logStore: ServerStoreOptions
    @Option(help: "Partitions of a new PostgreSQL store (default 16; an existing store keeps its own).")
    var partitions: Int?
    @Option(help: "The service's public base URL, for link buttons (default http://HOST:PORT).")
    var publicURL: String?
    @Option(help: "Where POST /v1/admin/backups (tally backup --url) writes backups (default DATA/backups).")
    var backupDir: String?
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        var logging = self.logging
        if logging.logLevel == .notice { logging.logLevel = .info }
        let shard = ShardID(name ?? "\(host):\(port)")
        var logger = logging.makeLogger("tally.shard")
        logger[metadataKey: "shard"] = "\(shard)"
        let clusterKey = try ClusterKey.load(file: clusterKeyFile, environment: ProcessInfo.processInfo.environment)
        let url = self.url ?? "http://\(host):\(port)"
        var coordinators = coordinator.flatMap { $0.split(separator: ",").map(String.init) }
        if coordinators.isEmpty { coordinators = ["http://127.0.0.1:7070"] }
        guard Heartbeat.isValidURL(url), coordinators.allSatisfy(Heartbeat.isValidURL) else {
            throw ValidationError("--url and --coordinator are http(s)://host[:port], with no path")
        }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        guard partitions == nil || logStore.url != nil else {
            throw ValidationError("--partitions is for a new --store; a data directory keeps its own count")
        }
        let (directory, store) = try await logStore.open(data: data, partitions: partitions, logger: logger)
        let secrets = try Secrets.load(dataDirectory: data)
        var configuration = ShardRole.Configuration(
            data: directory, shard: shard, coordinator: coordinators[0],
            url: url, operatorToken: secrets.operatorToken, raffleSecret: secrets.raffleSecret,
            clusterKey: clusterKey)
        configuration.moreCoordinators = Array(coordinators.dropFirst())
        configuration.store = store
        configuration.storeService = store
        configuration.address = .hostname(host, port: port)
        configuration.limits = server.limits
        configuration.metricsText = { registry.emitToString() }
        configuration.beacon = drandRelay.map { DrandHTTPBeacon(relay: $0) }
        configuration.publicBaseURL = publicURL ?? "http://\(host):\(port)"
        // The same apps as `tally serve`: Kick's TALLY_KICK_* variables, and
        // TALLY_DISCORD_APPLICATION_ID, _PUBLIC_KEY, _BOT_TOKEN.
        configuration.kick = try KickConfiguration.fromEnvironment()
        if let kick = configuration.kick { logger.info("Kick", metadata: ["app": "\(kick)"]) }
        configuration.discord = try DiscordConfiguration.fromEnvironment()
        if let discord = configuration.discord { logger.info("Discord", metadata: ["app": "\(discord)"]) }
        configuration.backupDirectory = backupDir
        try await ShardRole(configuration: configuration, logger: logger).run()
        logger.info("stopped: every partition released")
    }
}

/// `tally cluster --shards N`: a coordinator and N shard processes on this machine, for development.
struct ClusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Start a coordinator and N shard processes locally (Ctrl-C stops them all).",
        discussion:
            """
            The coordinator listens on --coordinator-port, shards on --port, --port+1, …; any shard serves any guild. \
            They sign their calls to each other with TALLY_CLUSTER_KEY, or with a key generated for this run.
            """
    )

    @Option(help: "Shard processes.") var shards: Int = 3
    @Option(help: "The data directory.") var data: String = "./tally-data"
    @Option(help: "The first shard's port.") var port: Int = 8080
    @Option(help: "The coordinator's port.") var coordinatorPort: Int = 7070
    @Option(help: "Partitions of a new data directory.") var partitions: Int = DataDirectory.defaultPartitionCount

    func validate() throws {
        guard (1...32).contains(shards) else { throw ValidationError("--shards must be 1 to 32") }
    }

    func run() async throws {
        _ = try DataDirectory.open(
            path: data, creatingWith: (try? DataDirectory.open(path: data))?.partitionCount ?? partitions)
        _ = try Secrets.load(dataDirectory: data)
        // The processes sign their calls to each other with one key: the operator's, or a new one
        // that lives only as long as they do.
        let environment = ProcessInfo.processInfo.environment
        let clusterKey =
            try environment["TALLY_CLUSTER_KEY"].flatMap { $0.isEmpty ? nil : try ClusterKey(text: $0) }
            ?? ClusterKey.generate()
        var childEnvironment = environment
        childEnvironment["TALLY_CLUSTER_KEY"] = clusterKey.text
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.path
        func start(_ arguments: [String]) throws -> Process {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: binary)
            p.arguments = arguments
            p.environment = childEnvironment
            try p.run()
            return p
        }
        var children = [try start(["coordinator", "--data", data, "--port", String(coordinatorPort)])]
        try await Task.sleep(for: .milliseconds(500))
        for i in 0..<shards {
            children.append(
                try start([
                    "shard", "--coordinator", "http://127.0.0.1:\(coordinatorPort)", "--data", data, "--port",
                    String(port + i),
                    "--name", "shard-\(i + 1)",
                ]))
        }
        print(
            "coordinator on :\(coordinatorPort), \(shards) shard(s) on :\(port)–:\(port + shards - 1); Ctrl-C stops them"
        )
        // Forward SIGINT and SIGTERM to every child, then wait for them all.
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        let sources = [SIGINT, SIGTERM].map { sig -> any DispatchSourceSignal in
            let source = DispatchSource.makeSignalSource(signal: sig)
            source.setEventHandler {
                for child in children where child.isRunning { kill(child.processIdentifier, SIGTERM) }
            }
            source.resume()
            return source
        }
        while children.contains(where: \.isRunning) { try? await Task.sleep(for: .milliseconds(200)) }
        _ = sources
        children.removeAll()
    }
}

/// The help of `--cluster-key-file`, shared by `shard` and `coordinator`.
enum ClusterKeyHelp {
    static let text = """
        A file holding the cluster key (at least 32 bytes, e.g. `openssl rand -hex 32`), the same on every node; \
        default: TALLY_CLUSTER_KEY. Without one the process refuses to start.
        """
}
