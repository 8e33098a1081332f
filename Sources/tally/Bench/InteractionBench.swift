import ArgumentParser
import AsyncHTTPClient
import Discord
import Domain
import EventLog
import Fakes
import Foundation
import Logging
import NIOCore
import Roles
import ServiceLifecycle
import Synchronization

/// `tally bench interactions`: signed slash commands through the real service over loopback — how
/// many are verified and answered per second, their latency, and the share of that time spent in
/// Ed25519 verification.
struct InteractionBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "interactions",
        abstract: "Benchmark Discord interactions: verified and answered per second, and the share in Ed25519.")

    @Option(help: "Interactions to send.")
    var count: Int = 20_000

    @Option(help: "Concurrent clients.")
    var concurrency: Int = 16

    @Option(
        help: """
            The command sent: points (/points view, answered at once) or roles-status (/roles status by an admin, \
            answered "thinking…" and finished by the outbox editing the original response in a fake Discord).
            """)
    var command: String = "points"

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard count >= 100, concurrency >= 1, concurrency <= 256 else {
            throw ValidationError("--count is at least 100 and --concurrency 1 to 256")
        }
        guard ["points", "roles-status"].contains(command) else {
            throw ValidationError("--command is points or roles-status")
        }
    }

    func run() async throws {
        let logger = logging.makeLogger()
        let fake = FakeDiscord()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "tally-bench-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        var configuration = ServeRole.Configuration(
            data: try DataDirectory.open(path: directory.path, creatingWith: 4), operatorToken: "bench",
            raffleSecret: Array(repeating: 9, count: 32))
        // Both servers bind port 0; their ports are read once they listen.
        let servicePort = BoundPort()
        let fakePort = BoundPort()
        configuration.address = .hostname("127.0.0.1", port: 0)
        configuration.onServerRunning = { servicePort.set($0) }
        // Deferred answers go out through the outbox: to a fake Discord on loopback.
        let fakeGroup = ServiceGroup(
            services: [
                fake.application(address: .hostname("127.0.0.1", port: 0), onServerRunning: { fakePort.set($0) })
            ],
            gracefulShutdownSignals: [], logger: logger)
        let deferred = command == "roles-status"
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let guild = GuildID(5_033_164_800_000_000_009)
        // Bodies signed ahead of time (the fake's signing is not Tally's cost).
        let now = Timestamp.now.rawValue / 1000
        let signed = try (0..<count + 200).map { i in
            let data: [String: Any] =
                deferred
                ? ["name": "roles", "options": [["name": "status", "type": 1, "options": [Any]()]]]
                : ["name": "points", "options": [["name": "view", "type": 1, "options": [Any]()]]]
            let body = try JSONSerialization.data(withJSONObject: [
                "id": String(1_000_000 + i), "type": 2, "token": "t\(i)", "guild_id": String(guild.rawValue),
                "member": ["user": ["id": String(100 + i % 500)], "permissions": deferred ? "32" : "0"], "data": data,
            ])
            return try fake.sign(body, timestamp: now)
        }
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await fakeGroup.run() }
            configuration.discord = fake.configuration(base: "http://127.0.0.1:\(try await fakePort.wait())")
            let role = try ServeRole(configuration: configuration, logger: logger)
            let group = role.serviceGroup(gracefulShutdownSignals: [])
            tasks.addTask { try await group.run() }
            let url = "http://127.0.0.1:\(try await servicePort.wait())/v1/discord/interactions"
            try await Task.sleep(for: .milliseconds(500))
            _ = try await role.cluster.node(for: guild).handle(
                .setSetting(.leaderboardDefault, 10), guild: guild,
                context: CommandContext(key: "bench-setup", time: .now))
            // Warm up, then measure.
            for s in signed.prefix(200) { _ = try await post(client, url, s) }
            let measured = Array(signed.dropFirst(200))
            let latencies = LatencyRecorder()
            let started = ContinuousClock.now
            try await withThrowingTaskGroup(of: Void.self) { clients in
                for c in 0..<concurrency {
                    clients.addTask {
                        var i = c
                        while i < measured.count {
                            let t0 = ContinuousClock.now
                            let status = try await post(client, url, measured[i])
                            guard status == 200 else { throw ValidationError("an interaction was answered \(status)") }
                            latencies.add(t0.duration(to: .now))
                            i += concurrency
                        }
                    }
                }
                try await clients.waitForAll()
            }
            let elapsed = Self.seconds(started.duration(to: .now))
            // Deferred: when the last original response was edited in the fake Discord.
            var finished: Double?
            if deferred {
                while (200..<signed.count).contains(where: { fake.original(token: "t\($0)") == nil }) {
                    try await Task.sleep(for: .milliseconds(20))
                }
                finished = Self.seconds(started.duration(to: .now))
            }
            // Ed25519 alone, on the same bodies, on one core.
            let verifier = try InteractionVerifier(publicKeyHex: fake.publicKeyHex)
            let v0 = ContinuousClock.now
            for s in measured {
                try verifier.verify(signature: s.signature, timestamp: s.timestamp, body: s.body, now: now)
            }
            let verifySeconds = Self.seconds(v0.duration(to: .now)) / Double(measured.count)
            let rate = Double(measured.count) / elapsed
            let cores = Double(ProcessInfo.processInfo.activeProcessorCount)
            let sorted = latencies.sorted()
            print(
                "interactions: \(measured.count) signed \(deferred ? "/roles status (deferred)" : "/points view"), "
                    + "\(concurrency) clients, loopback HTTP")
            print(String(format: "  verified and answered: %.0f/s", rate))
            print(
                String(
                    format: "  time to first response: p50 %.2f ms, p99 %.2f ms, max %.2f ms",
                    Self.seconds(sorted[sorted.count / 2]) * 1000, Self.seconds(sorted[sorted.count * 99 / 100]) * 1000,
                    Self.seconds(sorted[sorted.count - 1]) * 1000))
            if let finished {
                print(
                    String(
                        format: "  every follow-up edited in through the outbox after %.2f s (%.0f/s)", finished,
                        Double(measured.count) / finished))
            }
            print(
                String(
                    format: "  Ed25519 verify: %.1f µs each (%.0f/s on one core)", verifySeconds * 1e6,
                    1 / verifySeconds))
            print(
                String(
                    format: "  share of CPU time in Ed25519: %.1f%% (verify time × rate / %.0f cores)",
                    verifySeconds * rate / cores * 100, cores))
            await group.triggerGracefulShutdown()
            await fakeGroup.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        try await client.shutdown()
    }

    private func post(_ client: HTTPClient, _ url: String, _ s: FakeDiscord.SignedInteraction) async throws -> UInt {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        for (name, value) in s.headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: s.body))
        let response = try await client.execute(request, timeout: .seconds(10))
        _ = try await response.body.collect(upTo: 1 << 20)
        return response.status.code
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    final class LatencyRecorder: Sendable {
        private let values = Mutex<[Duration]>([])
        func add(_ d: Duration) { values.withLock { $0.append(d) } }
        func sorted() -> [Duration] { values.withLock { $0.sorted() } }
    }
}
