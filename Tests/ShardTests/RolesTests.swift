import AsyncHTTPClient
import Coordinator
import Domain
import EventLog
import Foundation
import NIOCore
import NIOHTTP1
import Partition
import Roles
import ServiceLifecycle
import Synchronization
import TallyTesting
import Testing

/// The roles as `tally` runs them, in process: the same wiring, driven by a test.
@Suite(.timeLimit(.minutes(2))) struct RolesTests {
    /// The port a server bound, once it listens.
    final class BoundPort: Sendable {
        private let port = Mutex<Int?>(nil)
        func set(_ channel: any Channel) { port.withLock { $0 = channel.localAddress?.port } }
        func wait() async throws -> Int {
            for _ in 0..<200 {
                if let p = port.withLock({ $0 }) { return p }
                try await Task.sleep(for: .milliseconds(25))
            }
            throw CancellationError()
        }
    }

    @Test func serveAcceptsACommandThenShutsDownGracefullyReleasingAndSnapshottingEveryPartition() async throws {
        let dir = TemporaryDirectory()
        let data = try DataDirectory.open(path: dir.path, creatingWith: 4)
        let bound = BoundPort()
        var configuration = ServeRole.Configuration(
            data: data, operatorToken: "role-token", raffleSecret: Array(repeating: 1, count: 32))
        configuration.address = .hostname("127.0.0.1", port: 0)
        configuration.onServerRunning = { bound.set($0) }
        let role = try ServeRole(configuration: configuration, logger: testLogger)
        let group = role.serviceGroup(gracefulShutdownSignals: [])
        let guild = "5033164800000000000"
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let port = try await bound.wait()
            #expect(try await Self.adjust(port, guild: guild, key: "k1") == .ok)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        // Released: the lock is free (a new writer opens it) and the state was snapshotted on release.
        let partition = data.partition(for: GuildID(5_033_164_800_000_000_000))
        let directory = data.directory(of: partition)
        let snapshots = try FileManager.default.contentsOfDirectory(
            atPath: PartitionModel.snapshotDirectory(partitionDirectory: directory))
        #expect(snapshots.contains { $0.hasSuffix(".snapshot") })
        let log = try PartitionLog.openForWriting(
            directory: directory, partition: partition, epoch: Epoch(1_000), logger: testLogger)
        #expect(log.endOffset.rawValue >= 1)
        await log.close()
    }

    /// Runs `configuration` as `tally serve` does until `body` returns, then shuts it down gracefully.
    static func serving(
        _ configuration: ServeRole.Configuration, _ body: @escaping @Sendable (Int) async throws -> Void
    ) async throws {
        let bound = BoundPort()
        var configuration = configuration
        configuration.address = .hostname("127.0.0.1", port: 0)
        configuration.onServerRunning = { bound.set($0) }
        let group = try ServeRole(configuration: configuration, logger: testLogger).serviceGroup(
            gracefulShutdownSignals: [])
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            do { try await body(try await bound.wait()) } catch {
                await group.triggerGracefulShutdown()
                throw error
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    static func adjust(_ port: Int, guild: String, key: String) async throws -> HTTPResponseStatus {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/guilds/\(guild)/commands")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer role-token")
        request.body = .bytes(
            ByteBuffer(
                string:
                    #"{"type":"adjust_points","key":"\#(key)","person":"1100000000000000001","delta":5,"reason":"r"}"#
            ))
        return try await HTTPClient.shared.execute(request, timeout: .seconds(10)).status
    }

    static func leaderboard(_ port: Int, guild: String) async throws -> HTTPResponseStatus {
        let request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/guilds/\(guild)/leaderboards/points")
        return try await HTTPClient.shared.execute(request, timeout: .seconds(10)).status
    }

    /// Guilds spread over every partition of a 4-partition data directory.
    static func guilds(_ data: DataDirectory) -> [String] {
        var byPartition: [PartitionID: String] = [:]
        var i: UInt64 = 0
        while byPartition.count < data.partitionCount {
            let guild = (1_300_000_000_000 + i) << 22
            byPartition[data.partition(for: GuildID(guild))] =
                byPartition[data.partition(for: GuildID(guild))] ?? "\(guild)"
            i += 1
        }
        return byPartition.keys.sorted().map { byPartition[$0]! }
    }

    @Test(arguments: [2, 3])
    func serveWithOneShardServesEveryGuildOfADirectoryLastServedWithMore(_ before: Int) async throws {
        let dir = TemporaryDirectory()
        let data = try DataDirectory.open(path: dir.path, creatingWith: 4)
        let guilds = Self.guilds(data)
        var configuration = ServeRole.Configuration(
            data: data, operatorToken: "role-token", raffleSecret: Array(repeating: 1, count: 32))
        configuration.shards = before
        try await Self.serving(configuration) { port async throws in
            for guild in guilds { #expect(try await Self.adjust(port, guild: guild, key: "before") == .ok) }
        }
        configuration.shards = 1
        try await Self.serving(configuration) { port async throws in
            for guild in guilds {
                #expect(try await Self.leaderboard(port, guild: guild) == .ok, "guild \(guild) is not served")
                #expect(try await Self.adjust(port, guild: guild, key: "after") == .ok)
            }
        }
    }

    /// `tally cluster` leaves a coordinator's table: wall-clock leases of shard processes, one partition
    /// in the middle of a handoff. `tally serve --shards 1` takes every partition over.
    @Test func serveWithOneShardServesEveryGuildOfADirectoryLastServedByACluster() async throws {
        let dir = TemporaryDirectory()
        let data = try DataDirectory.open(path: dir.path, creatingWith: 4)
        let guilds = Self.guilds(data)
        var configuration = ServeRole.Configuration(
            data: data, operatorToken: "role-token", raffleSecret: Array(repeating: 1, count: 32))
        configuration.shards = 1
        try await Self.serving(configuration) { port async throws in
            for guild in guilds { #expect(try await Self.adjust(port, guild: guild, key: "before") == .ok) }
        }
        let store = try AssignmentStore(path: dir.path + "/coordinator.sqlite")
        let coordinator = try CoordinatorService(partitionCount: 4, store: store, logger: testLogger)
        let now = Timestamp.now.rawValue
        _ = try await coordinator.heartbeat(ShardID("shard-7"), url: "http://127.0.0.1:1", now: now)
        _ = try await coordinator.heartbeat(ShardID("shard-8"), url: "http://127.0.0.1:2", now: now)
        let releasing = await coordinator.table.entries.contains {
            if case .releasing = $0.ownership { true } else { false }
        }
        #expect(releasing, "the saved table should hold a handoff in flight")
        try await Self.serving(configuration) { port async throws in
            for guild in guilds {
                #expect(try await Self.leaderboard(port, guild: guild) == .ok, "guild \(guild) is not served")
            }
        }
    }
}
