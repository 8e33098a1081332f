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
import Prometheus
import Roles
import Shard

/// `tally coordinator --data DIR --port P`: the coordinator process.
struct CoordinatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coordinator",
        abstract: "Run the coordinator: shards heartbeat to it and learn which partitions to hold and release.",
        discussion: "The assignment table persists in DIR/coordinator.sqlite, so a restart moves nothing."
    )

    @Option(help: "The data directory (its partition count is the cluster's).") var data: String = "./tally-data"
    @Option(help: "The address to listen on.") var host: String = "127.0.0.1"
    @Option(help: "The port to listen on.") var port: Int = 7070
    @Option(help: "Partitions of a new data directory.") var partitions: Int = 16
    @Option(help: "Lease length in milliseconds.") var leaseMs: Int64 = 5_000
    @Option(help: ArgumentHelp(ClusterKeyHelp.text, valueName: "file")) var clusterKeyFile: String?
    @OptionGroup var server: ServerOptions
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let logger = logging.makeLogger("tally.coordinator")
        let clusterKey = try ClusterKey.load(file: clusterKeyFile, environment: ProcessInfo.processInfo.environment)
        var configuration = CoordinatorRole.Configuration(data: try openOrCreate(), clusterKey: clusterKey)
        configuration.address = .hostname(host, port: port)
        configuration.limits = server.limits
        configuration.leaseMilliseconds = leaseMs
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        configuration.metricsText = { registry.emitToString() }
        try await CoordinatorRole(configuration: configuration, logger: logger).run()
    }

    /// The data directory, created if it does not exist.
    private func openOrCreate() throws -> DataDirectory {
        if let existing = try? DataDirectory.open(path: data) { return existing }
        return try DataDirectory.open(path: data, creatingWith: partitions)
    }
}
