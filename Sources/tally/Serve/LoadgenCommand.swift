import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// `tally loadgen`: an open-loop HTTP load generator that records every acknowledged command and can
/// verify afterwards that each is reflected exactly once.
struct LoadgenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loadgen",
        abstract: "Send commands at a fixed rate (open loop), report throughput, latency and errors, and verify them.",
        discussion: """
            Each command adds 1 point to one of the guild's people with a unique idempotency key as its reason.
            Latency is measured from each command's scheduled send time, so a slow server cannot hide its queueing.
            Errors are counted by kind: `HTTP 503` (with Retry-After), `HTTP 503 without Retry-After`, other
            statuses, or the client error's type (a timeout, a refused connection).
            --verify reads every touched person's audit trail and checks that each acknowledged key appears exactly
            once (an unacknowledged one may appear at most once). --record FILE keeps the acknowledged commands;
            `tally loadgen --verify-only --record FILE` verifies a recorded run later (after a restart, say).
            """
    )

    @Option(help: "The service's base URL.") var url: String = "http://127.0.0.1:8080"
    @Option(help: "Guilds to spread the commands over.") var guilds: Int = 100
    @Option(help: "People per guild.") var people: Int = 200
    @Option(help: "Commands per second.") var rate: Int = 1_000
    @Option(help: "Seconds to run.") var duration: Double = 10
    @Option(help: "The operator token (default: TALLY_OPERATOR_TOKEN).") var token: String?
    @Option(help: "Record acknowledged commands to this file (JSON lines).") var record: String?
    @Flag(help: "Verify through the API afterwards.") var verify = false
    @Flag(help: "Only verify the commands recorded in --record.") var verifyOnly = false
    @Option(help: "Most commands in flight at once.") var maxInFlight: Int = 4_096
    @Option(help: "A prefix for idempotency keys (default: unique per run).") var runID: String?

    struct Ack: Codable, Hashable {
        var guild: String
        var person: String
        var key: String
    }

    func validate() throws {
        guard guilds > 0, people > 0, rate > 0, duration > 0, maxInFlight > 0 else {
            throw ValidationError("--guilds, --people, --rate, --duration and --max-in-flight must be positive")
        }
        if verifyOnly && record == nil { throw ValidationError("--verify-only needs --record FILE") }
    }

    func run() async throws {
        var configuration = HTTPClient.Configuration()
        // Open loop: while a server stalls, commands keep being sent on new connections, up to
        // --max-in-flight (capped at 1,024 connections), rather than waiting for a pooled one and
        // failing with the client's own pool timeout.
        configuration.connectionPool = .init(
            idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: min(maxInFlight, 1_024))
        configuration.timeout = .init(connect: .seconds(2), read: .seconds(10))
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        do {
            if verifyOnly {
                let acks = try Self.readRecord(record!)
                try await verifyAcks(acks, sentPerPerson: nil, client: client)
            } else {
                let (acks, sent) = try await load(client: client)
                if let record { try Self.writeRecord(acks, to: record) }
                if verify { try await verifyAcks(acks, sentPerPerson: sent, client: client) }
            }
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }

    /// Guild ids the load uses: snowflakes derived from an index.
    static func guildID(_ i: Int) -> String { String((UInt64(1_300_000_000_000 + i) << 22) | 7) }
    static func personID(_ i: Int) -> String { String((UInt64(1_200_000_000_000 + i) << 22) | 3) }

    func load(client: HTTPClient) async throws -> ([Ack], [String: Int]) {
        let token = token ?? ProcessInfo.processInfo.environment["TALLY_OPERATOR_TOKEN"] ?? ""
        let prefix = runID ?? "lg-\(UInt64(Date().timeIntervalSince1970 * 1000))"
        let total = Int(Double(rate) * duration)
        let interval = Duration.nanoseconds(1_000_000_000 / Int64(rate))
        let start = ContinuousClock.now
        var latencies: [Double] = []
        latencies.reserveCapacity(total)
        var acks: [Ack] = []
        var sent: [String: Int] = [:]
        var errors: [String: Int] = [:]
        var rng = SystemRandomNumberGenerator()
        try await withThrowingTaskGroup(of: (Ack, Double, String?).self) { group in
            var inFlight = 0
            func collect(_ result: (Ack, Double, String?)) {
                inFlight -= 1
                if let error = result.2 {
                    errors[error, default: 0] += 1
                } else {
                    acks.append(result.0)
                    latencies.append(result.1)
                }
            }
            for i in 0..<total {
                let scheduled = start + interval * i
                if scheduled > .now { try await Task.sleep(until: scheduled, clock: .continuous) }
                while inFlight >= maxInFlight, let r = try await group.next() { collect(r) }
                let ack = Ack(
                    guild: Self.guildID(Int.random(in: 0..<guilds, using: &rng)),
                    person: Self.personID(Int.random(in: 0..<people, using: &rng)), key: "\(prefix)-\(i)")
                sent["\(ack.guild)/\(ack.person)", default: 0] += 1
                inFlight += 1
                group.addTask {
                    var request = HTTPClientRequest(url: "\(url)/v1/guilds/\(ack.guild)/commands")
                    request.method = .POST
                    request.headers.add(name: "Authorization", value: "Bearer \(token)")
                    request.headers.add(name: "Content-Type", value: "application/json")
                    let body =
                        #"{"type":"adjust_points","key":"\#(ack.key)","person":"\#(ack.person)","delta":1,"reason":"\#(ack.key)"}"#
                    request.body = .bytes(ByteBuffer(string: body))
                    do {
                        let response = try await client.execute(request, timeout: .seconds(10))
                        _ = try await response.body.collect(upTo: 1 << 20)
                        let latency = (ContinuousClock.now - scheduled).seconds
                        if response.status == .ok { return (ack, latency, nil) }
                        // A 503 must say when to retry; one that does not is told apart.
                        let unadvised =
                            response.status == .serviceUnavailable && !response.headers.contains(name: "Retry-After")
                        return (
                            ack, latency, "HTTP \(response.status.code)" + (unadvised ? " without Retry-After" : "")
                        )
                    } catch {
                        // HTTPClientError names its case (readTimeout, deadlineExceeded, remoteConnectionClosed …).
                        return (ack, 0, error is HTTPClientError ? "\(error)" : "\(type(of: error))")
                    }
                }
            }
            while let r = try await group.next() { collect(r) }
        }
        let elapsed = (ContinuousClock.now - start).seconds
        latencies.sort()
        func percentile(_ p: Double) -> String {
            guard !latencies.isEmpty else { return "-" }
            let v = latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]
            return String(format: "%.2f ms", v * 1000)
        }
        print("sent \(total) commands in \(String(format: "%.1f", elapsed)) s at a target of \(rate)/s")
        print(
            "acknowledged \(acks.count) (\(String(format: "%.0f", Double(acks.count) / elapsed))/s), errors \(errors.values.reduce(0, +))"
                + (errors.isEmpty
                    ? ""
                    : " " + errors.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")))
        print(
            "latency p50 \(percentile(0.5)), p99 \(percentile(0.99)), p99.9 \(percentile(0.999)), max \(percentile(1.0))"
        )
        return (acks, sent)
    }

    /// Checks every acknowledged key appears exactly once in its person's audit trail.
    func verifyAcks(_ acks: [Ack], sentPerPerson: [String: Int]?, client: HTTPClient) async throws {
        let byPerson = Dictionary(grouping: acks, by: { "\($0.guild)/\($0.person)" })
        var missing = 0
        var duplicated = 0
        var checked = 0
        for personAcks in byPerson.values {
            let entries = try await auditTrail(guild: personAcks[0].guild, person: personAcks[0].person, client: client)
            var seen: [String: Int] = [:]
            for e in entries { if let reason = e["reason"] as? String { seen[reason, default: 0] += 1 } }
            for ack in personAcks {
                switch seen[ack.key] ?? 0 {
                case 0: missing += 1
                case 1: break
                default: duplicated += 1
                }
            }
            checked += personAcks.count
        }
        print(
            "verified \(checked) acknowledged commands over \(byPerson.count) people: \(missing) missing, \(duplicated) applied twice"
        )
        if missing > 0 || duplicated > 0 { throw ExitCode(1) }
    }

    /// A person's audit entries; retried for a while, since a partition may be moving between shards.
    func auditTrail(guild: String, person: String, client: HTTPClient) async throws -> [[String: Any]] {
        var last = "no answer"
        for _ in 0..<40 {
            var request = HTTPClientRequest(url: "\(url)/v1/guilds/\(guild)/audit?user=\(person)&limit=1000")
            request.method = .GET
            // The audit trail needs the operator token (it holds moderation reasons).
            let token = token ?? ProcessInfo.processInfo.environment["TALLY_OPERATOR_TOKEN"] ?? ""
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
            if let response = try? await client.execute(request, timeout: .seconds(30)) {
                let body = try await response.body.collect(upTo: 64 << 20)
                if response.status == .ok,
                    let object = try JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any],
                    let entries = object["entries"] as? [[String: Any]]
                {
                    return entries
                }
                last = "HTTP \(response.status.code)"
            }
            try await Task.sleep(for: .milliseconds(500))
        }
        throw ValidationError("cannot read the audit trail of \(guild)/\(person): \(last)")
    }

    static func writeRecord(_ acks: [Ack], to path: String) throws {
        let encoder = JSONEncoder()
        var data = Data()
        for ack in acks {
            data.append(try encoder.encode(ack))
            data.append(0x0A)
        }
        try data.write(to: URL(fileURLWithPath: path))
    }

    static func readRecord(_ path: String) throws -> [Ack] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return try text.split(separator: "\n").map { try JSONDecoder().decode(Ack.self, from: Data($0.utf8)) }
    }
}
