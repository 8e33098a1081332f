import ArgumentParser
import AsyncHTTPClient
import EventLog
import Fakes
import Foundation
import Kick
import Logging
import NIOCore
import Roles
import ServiceLifecycle

/// `tally bench webhooks`: Kick webhooks through the real ingress of an in-process service, at an
/// offered rate, with latency measured from each webhook's scheduled send time; and the cost of RSA
/// verification alone, to say what share of the service's CPU it takes.
struct WebhookBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "webhooks",
        abstract: "Signed Kick webhooks through the real ingress: rate, p50/p99, and the share of CPU in RSA.")

    @Option(help: "Webhooks per second offered.") var rate: Int = 1_000
    @Option(help: "Seconds of load.") var duration: Double = 10
    @Option(help: "Guilds connected to their own channels.") var guilds: Int = 50
    @Option(help: "Where to put the data directory (removed afterwards).") var scratch: String = "./bench-data/webhooks"
    @Flag(help: "Print one JSON object.") var json = false

    func run() async throws {
        try? FileManager.default.removeItem(atPath: scratch)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        var logger = Logger(label: "tally.bench")
        logger.logLevel = .critical
        let fake = try FakeKick()
        // The RSA cost alone, on signed webhooks like the ones the load sends.
        let rsaMicros = try Self.rsaMicroseconds(fake)
        let port = 18_000 + Int(getpid() % 10_000)
        var configuration = ServeRole.Configuration(
            data: try DataDirectory.open(path: scratch, creatingWith: 16), operatorToken: "bench",
            raffleSecret: Array(repeating: 1, count: 32))
        configuration.address = .hostname("127.0.0.1", port: port)
        configuration.kick = fake.configuration(base: "http://127.0.0.1:\(port + 1)")
        let role = try ServeRole(configuration: configuration, logger: logger)
        let group = ServiceGroup(
            services: [fake.application(address: .hostname("127.0.0.1", port: port + 1))] + role.services,
            gracefulShutdownSignals: [], logger: logger)
        let base = "http://127.0.0.1:\(port)"
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let result: Result<Report, any Error>
            do { result = .success(try await load(fake, base: base)) } catch { result = .failure(error) }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            var report = try result.get()
            report.rsaMicroseconds = rsaMicros
            report.rsaShare = report.cpuMicrosecondsPerWebhook > 0 ? rsaMicros / report.cpuMicrosecondsPerWebhook : 0
            print(json ? report.json : report.text)
        }
    }

    struct Report: Codable {
        var offered = 0
        var acknowledged = 0
        var errors = 0
        var webhooksPerSecond = 0.0
        var p50Milliseconds = 0.0
        var p99Milliseconds = 0.0
        var cpuMicrosecondsPerWebhook = 0.0
        var rsaMicroseconds = 0.0
        var rsaShare = 0.0

        var text: String {
            String(
                format: """
                    offered %d webhooks, acknowledged %d (%.0f/s), errors %d
                    latency from scheduled send: p50 %.2f ms, p99 %.2f ms
                    CPU per webhook (whole process, load generator included) %.0f µs; RSA verification %.0f µs (%.1f%%)
                    """, offered, acknowledged, webhooksPerSecond, errors, p50Milliseconds, p99Milliseconds,
                cpuMicrosecondsPerWebhook, rsaMicroseconds, rsaShare * 100)
        }

        var json: String {
            let encoder = JSONEncoder()
            encoder.keyEncodingStrategy = .convertToSnakeCase
            encoder.outputFormatting = .sortedKeys
            return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
        }
    }

    static func rsaMicroseconds(_ fake: FakeKick) throws -> Double {
        let verifier = try KickWebhookVerifier(publicKeyPEM: fake.publicKeyPEM)
        let body = Data(
            #"{"message_id":"m","broadcaster":{"user_id":1},"sender":{"user_id":2,"username":"a"},"content":"hi"}"#.utf8
        )
        let now = Timestamp.now.rawValue
        let hook = try fake.webhook(
            type: "chat.message.sent", body: body, messageID: "m", timestamp: FakeKick.rfc3339(now))
        let headers = KickWebhookVerifier.SignedHeaders(
            messageID: "m", timestamp: hook.headers.first { $0.0 == "Kick-Event-Message-Timestamp" }!.1,
            signature: hook.headers.first { $0.0 == "Kick-Event-Signature" }!.1)
        let rounds = 2_000
        let start = ContinuousClock.now
        for _ in 0..<rounds { _ = try verifier.verify(headers, body: body, now: now) }
        return (ContinuousClock.now - start).seconds * 1e6 / Double(rounds)
    }

    func load(_ fake: FakeKick, base: String) async throws -> Report {
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            let report = try await offer(fake, base: base, client: client)
            try await client.shutdown()
            return report
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    private func offer(_ fake: FakeKick, base: String, client: HTTPClient) async throws -> Report {
        for _ in 0..<200 {
            if let r = try? await client.execute(HTTPClientRequest(url: base + "/health"), timeout: .seconds(1)),
                r.status == .ok
            {
                break
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        for g in 0..<guilds {
            var request = HTTPClientRequest(url: "\(base)/v1/guilds/\(Self.guild(g))/commands")
            request.method = .POST
            request.headers.add(name: "Authorization", value: "Bearer bench")
            request.body = .bytes(
                ByteBuffer(
                    string:
                        #"{"type":"connect_kick_channel","key":"c\#(g)","broadcaster_user_id":\#(Self.broadcaster(g)),"slug":"b\#(g)"}"#
                ))
            _ = try await client.execute(request, timeout: .seconds(10)).body.collect(upTo: 1 << 16)
        }
        // Signed before the clock starts: the load generator's RSA signing is not the service's cost.
        let total = Int(Double(rate) * duration)
        let now = Timestamp.now.rawValue
        var hooks: [FakeKick.Webhook] = []
        hooks.reserveCapacity(total)
        for i in 0..<total {
            let g = i % guilds
            let body =
                #"{"message_id":"m\#(i)","broadcaster":{"is_anonymous":false,"user_id":\#(Self.broadcaster(g)),"username":"b"},"sender":{"is_anonymous":false,"user_id":\#(10_000 + i % 500),"username":"viewer\#(i % 500)"},"content":"hello \#(i)","emotes":[],"created_at":"\#(FakeKick.rfc3339(now))"}"#
            hooks.append(
                try fake.webhook(
                    type: "chat.message.sent", body: Data(body.utf8), messageID: "bench-\(now)-\(i)",
                    timestamp: FakeKick.rfc3339(now)))
        }
        let interval = Duration.nanoseconds(1_000_000_000 / Int64(rate))
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let cpuBefore = Self.cpuSeconds(usage)
        let start = ContinuousClock.now
        var latencies: [Double] = []
        var errors = 0
        try await withThrowingTaskGroup(of: Double?.self) { group in
            for (i, hook) in hooks.enumerated() {
                let scheduled = start + interval * i
                if scheduled > .now { try await Task.sleep(until: scheduled, clock: .continuous) }
                group.addTask {
                    var request = HTTPClientRequest(url: base + "/v1/kick/webhook")
                    request.method = .POST
                    for (name, value) in hook.headers { request.headers.add(name: name, value: value) }
                    request.body = .bytes(ByteBuffer(data: hook.body))
                    guard let response = try? await client.execute(request, timeout: .seconds(10)) else { return nil }
                    _ = try? await response.body.collect(upTo: 1 << 16)
                    return response.status == .ok ? (ContinuousClock.now - scheduled).seconds : nil
                }
            }
            for try await latency in group {
                if let latency { latencies.append(latency) } else { errors += 1 }
            }
        }
        let elapsed = (ContinuousClock.now - start).seconds
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let cpu = Self.cpuSeconds(usage) - cpuBefore
        latencies.sort()
        func percentile(_ p: Double) -> Double {
            latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] * 1000
        }
        var report = Report()
        report.offered = total
        report.acknowledged = latencies.count
        report.errors = errors
        report.webhooksPerSecond = Double(latencies.count) / elapsed
        report.p50Milliseconds = percentile(0.5)
        report.p99Milliseconds = percentile(0.99)
        report.cpuMicrosecondsPerWebhook = latencies.isEmpty ? 0 : cpu * 1e6 / Double(latencies.count)
        return report
    }

    static func guild(_ g: Int) -> UInt64 { (UInt64(1_400_000_000_000 + g) << 22) | 5 }
    static func broadcaster(_ g: Int) -> UInt64 { 8_000_000 + UInt64(g) }
    static func cpuSeconds(_ u: rusage) -> Double {
        Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6
    }
}
