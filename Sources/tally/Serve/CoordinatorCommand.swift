import ArgumentParser
import AsyncHTTPClient
import Coordinator
import EventLog
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
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
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let logger = logging.makeLogger("tally.coordinator")
        let directory = try openOrCreate()
        let service = try CoordinatorService(
            partitionCount: directory, store: try AssignmentStore(path: data + "/coordinator.sqlite"),
            leaseMilliseconds: leaseMs)
        let now: @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }
        let data = try DataDirectory.open(path: self.data)
        var clientConfiguration = HTTPClient.Configuration()
        clientConfiguration.timeout = .init(connect: .milliseconds(500), read: .seconds(10))
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfiguration)
        var api = CoordinatorAPI(service: service, now: now)
        // Any node accepts any guild's request: the coordinator forwards it to the owning shard.
        api.forward = { request, guild in
            let partition = data.partition(for: guild)
            for _ in 0..<50 {
                if let url = await service.ownerURL(of: partition) {
                    return try await ForwardingMiddleware<BasicRequestContext>.send(request, to: url, client: client)
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            throw CoordinatorError(.noOwner, "partition \(partition) has no owner yet; retry")
        }
        let app = Application(
            router: api.router(),
            configuration: .init(address: .hostname(host, port: port), serverName: "tally-coordinator"), logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                while !Task.isCancelled {
                    try? await service.expireLeases(now: now())
                    try await Task.sleep(for: .milliseconds(500))
                }
            }
            try await app.runService()
            group.cancelAll()
        }
    }

    /// The partition count of the data directory, creating the directory if it does not exist.
    private func openOrCreate() throws -> Int {
        if let existing = try? DataDirectory.open(path: data) { return existing.partitionCount }
        return try DataDirectory.open(path: data, creatingWith: partitions).partitionCount
    }
}
