import ArgumentParser
import AsyncHTTPClient
import Coordinator
import EventLog
import Foundation
import HTTPTypes
import Logging
import NIOCore
import Roles
import ServiceLifecycle

/// `tally bench cluster-auth`: what signing costs a cluster — HMAC-SHA256 signing and checking
/// (with the replay memory) per call, for a heartbeat's body, a command's and the largest a
/// forward carries — against a signed heartbeat's whole round trip to a real coordinator over
/// loopback, measured in the same run.
struct ClusterAuthBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster-auth",
        abstract: "Benchmark the cluster signatures: sign and verify per call, against a heartbeat's round trip.")

    @Option(help: "Calls signed and verified per body size.")
    var count: Int = 20_000

    @Option(help: "Heartbeats sent, one after another, to an in-process coordinator.")
    var heartbeats: Int = 2_000

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard count >= 100, heartbeats >= 10 else { throw ValidationError("--count ≥ 100, --heartbeats ≥ 10") }
    }

    func run() async throws {
        let logger = logging.makeLogger()
        let key = ClusterKey.generate()
        let signer = ClusterAuthenticator(key: key)
        let verifier = ClusterAuthenticator(key: key)
        print("calls\tbody\tsign µs\tverify µs")
        var perHeartbeat = 0.0
        for size in [60, 1_024, 64 * 1_024] {
            let body = [UInt8](repeating: 0x61, count: size)
            var signed: [[(HTTPField.Name, String)]] = []
            signed.reserveCapacity(count)
            let signStart = ContinuousClock.now
            for _ in 0..<count { signed.append(signer.sign(method: "POST", path: "/v1/cluster/heartbeat", body: body)) }
            let signTime = signStart.duration(to: .now)
            let headers = signed.map { pairs in
                var fields = HTTPFields()
                for (name, value) in pairs { fields[name] = value }
                return fields
            }
            let verifyStart = ContinuousClock.now
            for fields in headers {
                _ = try verifier.verify(method: "POST", path: "/v1/cluster/heartbeat", headers: fields, body: body)
            }
            let verifyTime = verifyStart.duration(to: .now)
            let sign = Self.microseconds(signTime) / Double(count)
            let verify = Self.microseconds(verifyTime) / Double(count)
            if size == 60 { perHeartbeat = sign + verify }
            print(String(format: "%d\t%d B\t%.2f\t%.2f", count, size, sign, verify))
        }
        let roundTrip = try await heartbeatRoundTrip(key: key, logger: logger)
        print(
            String(
                format:
                    "signed heartbeat round trip over loopback: %.1f µs mean over %d; sign + verify: %.2f µs (%.1f %%)",
                roundTrip, heartbeats, perHeartbeat, 100 * perHeartbeat / roundTrip))
    }

    /// The mean time of a signed heartbeat sent to a real coordinator and its signed answer checked.
    func heartbeatRoundTrip(key: ClusterKey, logger: Logger) async throws -> Double {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "tally-bench-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        var configuration = CoordinatorRole.Configuration(
            data: try DataDirectory.open(path: directory.path, creatingWith: 16), clusterKey: key)
        let port = Int.random(in: 20_000..<40_000)
        configuration.address = .hostname("127.0.0.1", port: port)
        let role = try CoordinatorRole(configuration: configuration, logger: logger)
        let group = role.serviceGroup(gracefulShutdownSignals: [])
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let signer = ClusterAuthenticator(key: key)
        let body = Array(try JSONEncoder().encode(Heartbeat(shard: "bench", url: "http://127.0.0.1:1")))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            defer { Task { await group.triggerGracefulShutdown() } }
            func beat() async throws {
                var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/cluster/heartbeat")
                request.method = .POST
                let signature = signer.sign(method: "POST", path: "/v1/cluster/heartbeat", body: body)
                for (name, value) in signature { request.headers.add(name: name.rawName, value: value) }
                request.body = .bytes(ByteBuffer(bytes: body))
                let response = try await client.execute(request, timeout: .seconds(5))
                let answer = try await response.body.collect(upTo: 1 << 20)
                var headers = HTTPFields()
                for h in response.headers { if let n = HTTPField.Name(h.name) { headers[n] = h.value } }
                let nonce = signature.first { $0.0 == ClusterAuthenticator.Header.nonce }!.1
                try signer.verifyAnswer(
                    to: nonce, status: Int(response.status.code), headers: headers, body: answer.readableBytesView)
            }
            for _ in 0..<200 {
                if (try? await beat()) != nil { break }
                try await Task.sleep(for: .milliseconds(25))
            }
            let start = ContinuousClock.now
            for _ in 0..<heartbeats { try await beat() }
            let elapsed = start.duration(to: .now)
            try await client.shutdown()
            return Self.microseconds(elapsed) / Double(heartbeats)
        }
    }

    static func microseconds(_ d: Duration) -> Double {
        Double(d.components.seconds) * 1e6 + Double(d.components.attoseconds) / 1e12
    }
}
