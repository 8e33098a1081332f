import AsyncHTTPClient
import Coordinator
import EventLog
import Hummingbird
import NIOCore
import Roles
import ServiceLifecycle
import TallyTesting
import Testing

/// A coordinator and two shard roles in one process (each with its own HTTP server), beside a fake
/// platform: the harness of the tests that send a guild's traffic through the shard that does not
/// own it.
struct TwoShardRoles {
    let shards: [(role: ShardRole, url: String)]
    let data: DataDirectory
    let client: HTTPClient

    /// Runs `body` against the two shards, once the assignment has settled (every partition held,
    /// half by each), and shuts everything down in order after it.
    ///
    /// - Parameters:
    ///   - fake: the fake platform's server, given its address and what to call once it listens.
    ///   - configure: sets up each shard's configuration, given the fake's base URL.
    static func run(
        fake: (BindAddress, @escaping @Sendable (any Channel) async -> Void) -> any Service,
        configure: @escaping (inout ShardRole.Configuration, String) -> Void,
        _ body: (TwoShardRoles) async throws -> Void
    ) async throws {
        let directory = TemporaryDirectory()
        let data = try DataDirectory.open(path: directory.path, creatingWith: 4)
        let fakePort = RolesTests.BoundPort()
        let coordinatorPort = RolesTests.BoundPort()
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        var coordinatorConfiguration = CoordinatorRole.Configuration(data: data, clusterKey: ClusterAuthTests.key)
        coordinatorConfiguration.address = .hostname("127.0.0.1", port: 0)
        coordinatorConfiguration.onServerRunning = { coordinatorPort.set($0) }
        let coordinator = try CoordinatorRole(configuration: coordinatorConfiguration, logger: testLogger)
        let background = ServiceGroup(
            services: [fake(.hostname("127.0.0.1", port: 0), { fakePort.set($0) })] + coordinator.services,
            gracefulShutdownSignals: [], logger: testLogger)
        do {
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await background.run() }
                let coordinatorURL = "http://127.0.0.1:\(try await coordinatorPort.wait())"
                let fakeBase = "http://127.0.0.1:\(try await fakePort.wait())"
                var shards: [(role: ShardRole, url: String)] = []
                for i in 1...2 {
                    let port = try freeLoopbackPort()
                    var configuration = ShardRole.Configuration(
                        data: data, shard: ShardID("shard-\(i)"), coordinator: coordinatorURL,
                        url: "http://127.0.0.1:\(port)", operatorToken: "t",
                        raffleSecret: Array(repeating: 6, count: 32), clusterKey: ClusterAuthTests.key)
                    configuration.address = .hostname("127.0.0.1", port: port)
                    configure(&configuration, fakeBase)
                    shards.append(
                        (
                            try await ShardRole(configuration: configuration, logger: testLogger),
                            "http://127.0.0.1:\(port)"
                        ))
                }
                let groups = shards.map {
                    ServiceGroup(services: $0.role.services, gracefulShutdownSignals: [], logger: testLogger)
                }
                for group in groups { tasks.addTask { try await group.run() } }
                do {
                    let cluster = TwoShardRoles(shards: shards, data: data, client: client)
                    try await cluster.settle()
                    try await body(cluster)
                } catch {
                    for group in groups { await group.triggerGracefulShutdown() }
                    await background.triggerGracefulShutdown()
                    throw error
                }
                for group in groups { await group.triggerGracefulShutdown() }
                await background.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
        } catch {
            try await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }

    /// Waits (up to 30 s) until the assignment settles: balanced, every partition held once.
    func settle() async throws {
        for _ in 0..<600 {
            var held: [Int] = [0, 0]
            for (i, shard) in shards.enumerated() {
                for p in 0..<UInt32(data.partitionCount) where await shard.role.node.serves(PartitionID(p)) {
                    held[i] += 1
                }
            }
            if held == [data.partitionCount / 2, data.partitionCount / 2] { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("the assignment never settled")
    }

    /// The index of the shard serving `guild`'s partition.
    func owner(of guild: GuildID) async -> Int? {
        for (i, shard) in shards.enumerated() where await shard.role.node.serves(data.partition(for: guild)) {
            return i
        }
        return nil
    }

    /// Polls `condition` every 50 ms for up to 15 s.
    func eventually(_ what: String, _ condition: () async throws -> Bool) async throws {
        for _ in 0..<300 {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("timed out waiting for \(what)")
    }
}
