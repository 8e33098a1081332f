import ArgumentParser
import AsyncHTTPClient
import Domain
import EventLog
import Fakes
import Foundation
import Logging
import NIOCore
import Roles
import ServiceLifecycle
import Shard
import Synchronization

/// `tally bench overlays`: a simulated stream against an in-process `tally serve` — chatters talking
/// through signed Kick webhooks (with `!sr` and `!guess` among them), points changing through the
/// API — while N overlay pages hold server-sent-event streams. Reports how long after a change was
/// durable (its command or webhook acknowledged) each connected overlay had it.
struct OverlayBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "overlays",
        abstract: "Overlay streams under a simulated stream: update delay after the event is durable, p50/p99.")

    @Option(help: "Overlay connections (split between the leaderboard and the slot queue).") var connections = 500
    @Option(help: "Chatters in the simulated stream.") var chatters = 1_000
    @Option(help: "Seconds of load.") var duration: Double = 20
    @Option(help: "Chat webhooks per second (every 10th a !sr, every 25th a !guess).") var chatRate = 50
    @Option(help: "Point changes per second through the API (each moves the leaderboard).") var changeRate = 5
    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard (1...5000).contains(connections), chatters >= 2, duration > 0, chatRate >= 0, changeRate >= 1 else {
            throw ValidationError("--connections 1 to 5000, --chatters ≥ 2, --change-rate ≥ 1")
        }
    }

    /// A change an overlay must show: when it was durable, and the guild sequence it reached (a
    /// point change) or the slot queue's length it made (a slot request: other events, such as its
    /// chat reply's delivery, follow it without changing the slot overlay, so a sequence read after
    /// it may never be shown on its own).
    struct Change: Sendable {
        var sequence: UInt64 = 0
        var waiting: Int?
        let durable: ContinuousClock.Instant
    }

    /// How many overlays have their first view, and whether the run is over.
    final class Flags: Sendable {
        let connected = Mutex(0)
        let stop = Mutex(false)
    }

    /// The changes an overlay kind must show, and what each of its streams received when.
    final class Changes: Sendable {
        let list = Mutex<[Change]>([])
        let streams = Mutex<[[Received]]>([])
        func add(_ change: Change) { list.withLock { $0.append(change) } }
        func add(stream: [Received]) { streams.withLock { $0.append(stream) } }

        /// For every change and every stream: how long after the change was durable the stream first
        /// had a view at or past its sequence (0 when the view arrived before the acknowledgement did);
        /// and how many pairs never got there.
        func delays() -> (delays: [Duration], missed: Int) {
            let changes = list.withLock { $0 }
            var delays: [Duration] = []
            var missed = 0
            for stream in streams.withLock({ $0 }) {
                for change in changes {
                    let shown: (Received) -> Bool =
                        change.waiting.map { waiting in { ($0.waiting ?? -1) >= waiting } } ?? {
                            $0.id >= change.sequence
                        }
                    guard let seen = stream.first(where: shown) else {
                        missed += 1
                        continue
                    }
                    delays.append(max(.zero, change.durable.duration(to: seen.at)))
                }
            }
            return (delays.sorted(), missed)
        }
    }

    /// A view a stream received: its event id, the slot queue's length it shows (slot overlays), and when.
    struct Received: Sendable {
        let id: UInt64
        var waiting: Int?
        let at: ContinuousClock.Instant
    }

    func run() async throws {
        let logger = logging.makeLogger()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "tally-bench-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let kick = try FakeKick()
        let kickPort = BoundPort()
        let servicePort = BoundPort()
        var configuration = ServeRole.Configuration(
            data: try DataDirectory.open(path: directory.path, creatingWith: 4), operatorToken: "bench",
            raffleSecret: Array(repeating: 9, count: 32))
        configuration.address = .hostname("127.0.0.1", port: 0)
        configuration.onServerRunning = { servicePort.set($0) }
        let fakeGroup = ServiceGroup(
            services: [
                kick.application(address: .hostname("127.0.0.1", port: 0), onServerRunning: { kickPort.set($0) })
            ],
            gracefulShutdownSignals: [], logger: logger)
        var http = HTTPClient.Configuration()
        http.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = connections + 64
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: http)
        let guild = GuildID(5_033_164_800_000_000_500)
        let broadcaster: UInt64 = 7_700_500
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await fakeGroup.run() }
            configuration.kick = kick.configuration(base: "http://127.0.0.1:\(try await kickPort.wait())")
            let role = try ServeRole(configuration: configuration, logger: logger)
            let group = role.serviceGroup(gracefulShutdownSignals: [])
            tasks.addTask { try await group.run() }
            let base = "http://127.0.0.1:\(try await servicePort.wait())"
            let result: Result<Void, any Error>
            do {
                result = .success(
                    try await load(role, client, base, guild: guild, broadcaster: broadcaster, kick: kick))
            } catch { result = .failure(error) }
            await group.triggerGracefulShutdown()
            await fakeGroup.triggerGracefulShutdown()
            try await tasks.waitForAll()
            try result.get()
        }
        try await client.shutdown()
    }

    private func load(
        _ role: ServeRole, _ client: HTTPClient, _ base: String, guild: GuildID, broadcaster: UInt64, kick: FakeKick
    ) async throws {
        func command(_ json: String) async throws -> UInt64 {
            var request = HTTPClientRequest(url: base + "/v1/guilds/\(guild)/commands")
            request.method = .POST
            request.headers.add(name: "Authorization", value: "Bearer bench")
            request.body = .bytes(ByteBuffer(string: json))
            let response = try await client.execute(request, timeout: .seconds(30))
            let body = try await response.body.collect(upTo: 1 << 20)
            guard response.status.code == 200 else {
                throw ValidationError("a command was answered \(response.status.code): \(String(buffer: body))")
            }
            let object = try JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any]
            let events = object?["events"] as? [[String: Any]] ?? []
            return (events.last?["sequence"] as? NSNumber)?.uint64Value ?? 0
        }
        _ = try await command(
            #"{"type":"connect_kick_channel","key":"c","broadcaster_user_id":\#(broadcaster),"slug":"bench"}"#)
        _ = try await command(#"{"type":"set_stream_status","key":"live","live":true}"#)
        _ = try await command(#"{"type":"set_setting","key":"cd","setting":"slot_request_cooldown_seconds","value":0}"#)
        _ = try await command(#"{"type":"open_slot_queue","key":"slots"}"#)
        _ = try await command(#"{"type":"open_guess","key":"guess"}"#)
        let key = await role.cluster.node(for: guild).overlayKey(for: guild)
        let board = Changes()
        let slots = Changes()
        let flags = Flags()
        try await withThrowingTaskGroup(of: Void.self) { streams in
            for i in 0..<connections {
                let (kind, changes) = i % 2 == 0 ? ("leaderboard", board) : ("slots", slots)
                streams.addTask {
                    var request = HTTPClientRequest(url: base + "/overlay/\(guild)/\(kind)/events?key=\(key)")
                    request.headers.add(name: "Accept", value: "text/event-stream")
                    let response = try await client.execute(request, timeout: .seconds(3600))
                    var text = ""
                    var received: [Received] = []
                    defer { changes.add(stream: received) }
                    for try await chunk in response.body {
                        let at = ContinuousClock.now
                        text += String(buffer: chunk)
                        while let end = text.range(of: "\n\n") {
                            let block = text[..<end.lowerBound]
                            text = String(text[end.upperBound...])
                            guard let line = block.split(separator: "\n").first(where: { $0.hasPrefix("id: ") }),
                                let id = UInt64(line.dropFirst(4))
                            else { continue }
                            if received.isEmpty { flags.connected.withLock { $0 += 1 } }
                            let waiting = block.split(separator: "\n").first { $0.hasPrefix("data: ") }
                                .flatMap { data in data.range(of: #""waiting":"#).map { data[$0.upperBound...] } }
                                .flatMap { Int($0.prefix { $0.isNumber }) }
                            received.append(Received(id: id, waiting: waiting, at: at))
                        }
                        if flags.stop.withLock({ $0 }) { return }
                    }
                }
            }
            // Wait for every overlay's first view.
            let started = ContinuousClock.now
            while flags.connected.withLock({ $0 }) < connections {
                guard started.duration(to: .now) < .seconds(60) else {
                    throw ValidationError(
                        "only \(flags.connected.withLock { $0 }) of \(connections) overlays connected")
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            print("overlays: \(connections) connected in \(started.duration(to: .now))")
            let webhooks = try (0..<Int(Double(chatRate) * duration)).map { i -> FakeKick.Webhook in
                let chatter = UInt64(1 + i % chatters)
                let content =
                    i % 10 == 0 ? "!sr slot \(i)" : i % 25 == 0 ? "!guess \(i).\(i % 100)" : "hello from \(chatter)"
                let id = "bench-\(i)"
                let body: [String: Any] = [
                    "message_id": id,
                    "broadcaster": ["is_anonymous": false, "user_id": broadcaster, "username": "streamer"],
                    "sender": ["is_anonymous": false, "user_id": chatter, "username": "viewer\(chatter)"],
                    "content": content, "emotes": [Any](), "created_at": FakeKick.rfc3339(Timestamp.now.rawValue),
                ]
                return try kick.webhook(
                    type: "chat.message.sent", body: try JSONSerialization.data(withJSONObject: body),
                    messageID: id, timestamp: FakeKick.rfc3339(Timestamp.now.rawValue))
            }
            let t0 = ContinuousClock.now
            try await withThrowingTaskGroup(of: Void.self) { load in
                load.addTask {
                    for (i, hook) in webhooks.enumerated() {
                        try await Task.sleep(until: t0 + .seconds(Double(i) / Double(chatRate)))
                        var request = HTTPClientRequest(url: base + "/v1/kick/webhook")
                        request.method = .POST
                        for (name, value) in hook.headers { request.headers.add(name: name, value: value) }
                        request.body = .bytes(ByteBuffer(data: hook.body))
                        let response = try await client.execute(request, timeout: .seconds(30))
                        _ = try await response.body.collect(upTo: 1 << 16)
                        // A request's effect on the slot overlay (one more waiting) is durable once
                        // the webhook is answered.
                        if i % 10 == 0 { slots.add(Change(waiting: i / 10 + 1, durable: .now)) }
                    }
                }
                load.addTask {
                    for i in 0..<Int(Double(changeRate) * duration) {
                        try await Task.sleep(until: t0 + .seconds(Double(i) / Double(changeRate)))
                        let sequence = try await command(
                            #"{"type":"adjust_points","key":"p\#(i)","person":"kick:\#(1 + i % chatters)","delta":\#(10 + i),"reason":"bench"}"#
                        )
                        board.add(Change(sequence: sequence, waiting: nil, durable: .now))
                    }
                }
                try await load.waitForAll()
            }
            try await Task.sleep(for: .seconds(1))
            flags.stop.withLock { $0 = true }
            streams.cancelAll()
            // Every stream hands in what it received as it ends.
            while board.streams.withLock({ $0.count }) + slots.streams.withLock({ $0.count }) < connections {
                try await Task.sleep(for: .milliseconds(20))
            }
            for (name, changes, per) in [
                ("leaderboard", board, (connections + 1) / 2), ("slots", slots, connections / 2),
            ] {
                let (sorted, missed) = changes.delays()
                let count = changes.list.withLock { $0.count }
                guard !sorted.isEmpty else {
                    print("\(name): no update measured")
                    continue
                }
                func ms(_ d: Duration) -> Double {
                    Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
                }
                print(
                    String(
                        format:
                            "%@: %d changes × %d overlays, %d delivered, %d missed: p50 %.1f ms, p99 %.1f ms, max %.1f ms",
                        name, count, per, sorted.count, missed,
                        ms(sorted[sorted.count / 2]), ms(sorted[sorted.count * 99 / 100]), ms(sorted[sorted.count - 1]))
                )
            }
        }
    }
}
