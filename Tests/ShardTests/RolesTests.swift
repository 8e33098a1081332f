import AsyncHTTPClient
import Domain
import EventLog
import Foundation
import NIOCore
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
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/guilds/\(guild)/commands")
            request.method = .POST
            request.headers.add(name: "Authorization", value: "Bearer role-token")
            request.body = .bytes(
                ByteBuffer(
                    string:
                        #"{"type":"adjust_points","key":"k1","person":"1100000000000000001","delta":5,"reason":"r"}"#))
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            #expect(response.status == .ok)
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
}
