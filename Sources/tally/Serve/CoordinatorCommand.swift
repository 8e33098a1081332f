import ArgumentParser
import AsyncHTTPClient
import Coordinator
import EventLog
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Metrics
import NIOCore
import NIOHTTP1
import PostgresStore
import Prometheus
import Roles
import Shard

/// `tally coordinator --data DIR --port P`, or `--store postgres://…`: the coordinator process.
struct CoordinatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coordinator",
        abstract: "Run the coordinator: shards heartbeat to it and learn which partitions to hold and release.",
        discussion: """
            The assignment table persists in DIR/coordinator.sqlite, so a restart moves nothing. With --store \
            (or TALLY_STORE) the assignment, leases and shard registry live in PostgreSQL instead, and several \
            coordinators may run against it: the one holding the database's advisory lock is active, the others \
            answer 503 and take over within a lease when it dies.
            """
    )

    @Option(help: "The data directory (its partition count is the cluster's).") var data: String = "./tally-data"
    @Option(
        help: ArgumentHelp(
            "A PostgreSQL store, postgres://USER@HOST:PORT/DATABASE, for the coordinator state instead of --data.",
            discussion: "Default: the TALLY_STORE environment variable."))
    var store: String?
    @Option(help: "This coordinator's name in the store's term row (default HOSTNAME:PORT).") var name: String?
    @Option(help: "The address to listen on.") var host: String = "127.0.0.1"
    @Option(help: "The port to listen on.") var port: Int = 7070
    @Option(help: "Partitions of a new data directory.") var partitions: Int = 16
    @Option(help: "Lease length in milliseconds.") var leaseMs: Int64 = 5_000
    @Option(help: ArgumentHelp(ClusterKeyHelp.text, valueName: "file")) var clusterKeyFile: String?
    @OptionGroup var server: ServerOptions
    @OptionGroup var logging: LoggingOptions

    /// The store URL in effect, if any.
    private var storeURL: String? { store ?? environmentStoreURL() }

    func run() async throws {
        let logger = logging.makeLogger("tally.coordinator")
        let clusterKey = try ClusterKey.load(file: clusterKeyFile, environment: ProcessInfo.processInfo.environment)
        guard let url = storeURL else {
            try await run(
                CoordinatorRole.Configuration(data: try openOrCreate(), clusterKey: clusterKey), logger: logger)
            return
        }
        var storeConfiguration: PostgresStoreConfiguration
        do { storeConfiguration = try PostgresStoreConfiguration(url: url) } catch {
            throw ValidationError("\(error)")
        }
        // The coordinator's own writes are one at a time; the election has a connection of its own.
        storeConfiguration.maximumConnections = 4
        let logStore = PostgresLogStore(configuration: storeConfiguration, logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await logStore.run() }
            do {
                let count = try await prepare(logStore)
                let store = PostgresCoordinatorStore(store: logStore)
                let holder = name ?? "\(ProcessInfo.processInfo.hostName):\(port)"
                let shared = CoordinatorRole.SharedState(partitionCount: count, store: store) { service in
                    [PostgresCoordinatorElection(store: store, service: service, holder: holder, logger: logger)]
                }
                logger.info(
                    "coordinator state in PostgreSQL",
                    metadata: [
                        "store": "\(storeConfiguration.redacted)", "partitions": "\(count)", "holder": "\(holder)",
                    ])
                try await run(CoordinatorRole.Configuration(shared: shared, clusterKey: clusterKey), logger: logger)
                logStore.shutdown()
                try await group.waitForAll()
            } catch {
                logStore.shutdown()
                group.cancelAll()
                throw error
            }
        }
    }

    private func run(_ configuration: CoordinatorRole.Configuration, logger: Logger) async throws {
        var configuration = configuration
        configuration.address = .hostname(host, port: port)
        configuration.limits = server.limits
        configuration.leaseMilliseconds = leaseMs
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        configuration.metricsText = { registry.emitToString() }
        try await CoordinatorRole(configuration: configuration, logger: logger).run()
    }

    /// Migrates the store and returns its partition count, fixing it at --partitions in a new store.
    private func prepare(_ store: PostgresLogStore) async throws -> Int {
        do {
            try await store.prepare()
        } catch let error as EventLogError where error.code == .notFound {
            try await store.prepare(creatingWith: partitions)
        }
        return store.partitionCount
    }

    /// The data directory, created if it does not exist.
    private func openOrCreate() throws -> DataDirectory {
        if let existing = try? DataDirectory.open(path: data) { return existing }
        return try DataDirectory.open(path: data, creatingWith: partitions)
    }
}
