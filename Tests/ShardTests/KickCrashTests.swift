import AsyncHTTPClient
import EventLog
import Fakes
import Foundation
import NIOCore
import ServiceLifecycle
import TallyTesting
import Testing

/// A real `tally serve` fed by a fake Kick's signed webhooks (chat, live, gifts, retries, forged and
/// stale signatures), SIGKILLed in the middle and restarted: the guild ends with exactly the tickets
/// a reference computation expects, every chat command is answered, and no reply whose outcome was
/// recorded is sent again.
@Suite(.serialized, .timeLimit(.minutes(5))) struct KickCrashTests {
    static let guild: UInt64 = 5_033_164_800_000_000_000
    static let broadcaster: UInt64 = 7_700_123
    @Test func aServerKilledMidStreamLosesNoWebhookAndSendsNoRecordedReplyTwice() async throws {
        let fake = try FakeKick()
        let bound = RolesTests.BoundPort()
        let fakeGroup = ServiceGroup(
            services: [fake.application(address: .hostname("127.0.0.1", port: 0), onServerRunning: { bound.set($0) })],
            gracefulShutdownSignals: [], logger: testLogger)
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await fakeGroup.run() }
                try await scenario(fake, kickBase: "http://127.0.0.1:\(try await bound.wait())", client: client)
                await fakeGroup.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
        } catch {
            try await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }

    func scenario(_ fake: FakeKick, kickBase: String, client: HTTPClient) async throws {
        let temporary = TemporaryDirectory()
        let port = 24_000 + Int(getpid() % 10_000)
        let base = "http://127.0.0.1:\(port)"
        let token = "kick-crash-token"
        let environment = [
            "TALLY_KICK_CLIENT_ID": fake.clientID, "TALLY_KICK_CLIENT_SECRET": fake.clientSecret,
            "TALLY_KICK_BOT_TOKEN": fake.botToken, "TALLY_KICK_PUBLIC_KEY": fake.publicKeyPEM,
            "TALLY_KICK_API_BASE": kickBase, "TALLY_KICK_OAUTH_BASE": kickBase,
        ]
        let serve = ["serve", "--data", temporary.path, "--port", String(port), "--partitions", "4"]
        var server = try startTally(serve, token: token, environment: environment)
        defer { if server.isRunning { kill(server.processIdentifier, SIGKILL) } }
        try await waitForHealth(base, client)

        func command(_ json: String) async throws {
            var request = HTTPClientRequest(url: "\(base)/v1/guilds/\(Self.guild)/commands")
            request.method = .POST
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
            request.body = .bytes(ByteBuffer(string: json))
            let response = try await client.execute(request, timeout: .seconds(10))
            let body = String(buffer: try await response.body.collect(upTo: 1 << 20))
            #expect(response.status == .ok, "\(json): \(body)")
        }
        try await command(
            #"{"type":"connect_kick_channel","key":"connect","broadcaster_user_id":\#(Self.broadcaster),"slug":"streamer"}"#
        )
        try await command(#"{"type":"open_raffle_period","key":"open"}"#)

        // The stream, and what a correct service makes of it.
        var rng = SplitMix64(seed: 20_261_130)
        var expectedTickets: [UInt64: Int64] = [:]
        var repliesExpected = Set<UInt64>()
        var chatted = Set<UInt64>()
        var sent: [FakeKick.Webhook] = []
        var refused = 0
        let total = 240
        for i in 0..<total {
            if i == total / 2 {
                // Kill without warning mid-stream; Kick keeps retrying what was not acknowledged.
                kill(server.processIdentifier, SIGKILL)
                await server.exited()
                let killed = server.processIdentifier
                server = try startTally(serve, token: token, environment: environment)
                #expect(server.processIdentifier != killed)
            }
            let now = Timestamp.now.rawValue
            let roll = rng.next() % 100
            let hook: FakeKick.Webhook
            var expectRefusal = false
            if roll < 10, !sent.isEmpty {
                hook = sent[Int(rng.next() % UInt64(sent.count))]  // a retry of an earlier delivery
            } else if roll < 15 {
                hook = try webhook(fake, "chat.message.sent", chat(1, "forger", "!points", "f\(i)"), "forged-\(i)", now)
                expectRefusal = true
            } else if roll < 20 {
                hook = try webhook(
                    fake, "chat.message.sent", chat(2, "late", "!points", "s\(i)"), "stale-\(i)", now - 11 * 60_000)
                expectRefusal = true
            } else if roll < 45 {
                let gifter = 100 + rng.next() % 8
                let count = 1 + rng.next() % 5
                let giftees = (0..<count).map { user(1_000 + $0, "giftee\($0)") }
                hook = try webhook(
                    fake, "channel.subscription.gifts",
                    [
                        "broadcaster": user(Self.broadcaster, "streamer"), "gifter": user(gifter, "gifter\(gifter)"),
                        "giftees": giftees,
                        "created_at": FakeKick.rfc3339(now),
                    ], "gift-\(i)", now)
                expectedTickets[gifter, default: 0] += 15 * Int64(count)
            } else {
                let chatter = 200 + rng.next() % 12
                let isCommand = rng.next() % 4 == 0
                if isCommand { repliesExpected.insert(chatter) }
                chatted.insert(chatter)
                hook = try webhook(
                    fake, "chat.message.sent",
                    chat(chatter, "viewer\(chatter)", isCommand ? "!points" : "hi \(i)", "c\(i)"),
                    "chat-\(i)", now)
            }
            var signedHook = hook
            if expectRefusal, roll < 15 {
                // Forged: a valid signature of another body.
                signedHook.body = Data(
                    String(decoding: hook.body, as: UTF8.self).replacingOccurrences(of: "forger", with: "forgeR").utf8)
            }
            let status = try await deliverUntilAnswered(signedHook, base, client)
            if expectRefusal {
                #expect(status == 401)
                refused += 1
            } else {
                #expect(status == 200)
                if !sent.contains(where: { $0.body == hook.body }) { sent.append(hook) }
            }
        }
        #expect(refused > 10)

        // The stream goes live: the next timer round ticks once and credits every chatter who spoke in
        // the last 2 minutes (the chat above) one minute; 1 minute converts to no points yet; the next
        // tick is a minute away. So: exactly 1 minute and 0 points each, and nothing for anyone else.
        let live = try webhook(
            fake, "livestream.status.updated",
            [
                "broadcaster": user(Self.broadcaster, "streamer"), "is_live": true,
                "started_at": FakeKick.rfc3339(Timestamp.now.rawValue),
            ],
            "live-1", Timestamp.now.rawValue)
        #expect(try await deliverUntilAnswered(live, base, client) == 200)
        let probe = chatted.min()!
        for _ in 0..<100
        where number(try await get("\(base)/v1/guilds/\(Self.guild)/people/kick:\(probe)", client), "minutes") != 1 {
            try await Task.sleep(for: .milliseconds(50))
        }
        for chatter in chatted {
            let body = try await get("\(base)/v1/guilds/\(Self.guild)/people/kick:\(chatter)", client)
            #expect(number(body, "minutes") == 1 && number(body, "points") == 0, "chatter \(chatter): \(body)")
        }
        // Every gifter has exactly the tickets the accepted gifts give; the forgers and late ones nothing.
        for (gifter, tickets) in expectedTickets {
            let body = try await get("\(base)/v1/guilds/\(Self.guild)/people/kick:\(gifter)", client)
            #expect(
                number(body, "total_tickets") == tickets && number(body, "minutes") == 0, "gifter \(gifter): \(body)")
        }
        #expect(try await get("\(base)/v1/guilds/\(Self.guild)/people/kick:1", client).contains("unknown_person"))
        // Every chat command answered once (cooldown 30 s), at most one resent by the kill.
        for _ in 0..<200 where Set(fake.chats.compactMap(\.replyTo)).count < repliesExpected.count {
            try await Task.sleep(for: .milliseconds(50))
        }
        let answered = Set(fake.chats.map { $0.content.split(separator: " ")[0] })
        #expect(answered == Set(repliesExpected.map { "@viewer\($0)" }))
        #expect(fake.chats.count - repliesExpected.count <= 1, "a recorded reply was sent again: \(fake.chats.count)")
        #expect(fake.subscriptions.count >= 1)

        server.terminate()
        await server.exited()
        let verify = try startTally(["log", "verify", temporary.path], token: token)
        await verify.exited()
        #expect(verify.terminationStatus == 0, "the log is damaged")
    }

    /// A number field of a JSON object.
    func number(_ body: String, _ field: String) -> Int64? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] else {
            return nil
        }
        return (object[field] as? NSNumber)?.int64Value
    }

    func user(_ id: UInt64, _ name: String) -> [String: Any] {
        ["is_anonymous": false, "user_id": id, "username": name, "is_verified": false, "channel_slug": name]
    }

    func chat(_ sender: UInt64, _ name: String, _ content: String, _ id: String) -> [String: Any] {
        [
            "message_id": id, "broadcaster": user(Self.broadcaster, "streamer"), "sender": user(sender, name),
            "content": content, "emotes": [Any](), "created_at": FakeKick.rfc3339(Timestamp.now.rawValue),
        ]
    }

    func webhook(_ fake: FakeKick, _ type: String, _ body: [String: Any], _ id: String, _ at: Int64) throws
        -> FakeKick.Webhook
    {
        try fake.webhook(
            type: type, body: try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys]), messageID: id,
            timestamp: FakeKick.rfc3339(at))
    }

    /// Posts the webhook until the service answers (as Kick retries while it is down).
    func deliverUntilAnswered(_ hook: FakeKick.Webhook, _ base: String, _ client: HTTPClient) async throws -> Int {
        // While the server is down the client keeps reconnecting (as Kick keeps retrying).
        for _ in 0..<400 {
            var request = HTTPClientRequest(url: base + "/v1/kick/webhook")
            request.method = .POST
            for (name, value) in hook.headers { request.headers.add(name: name, value: value) }
            request.body = .bytes(ByteBuffer(data: hook.body))
            if let response = try? await client.execute(request, timeout: .seconds(5)), response.status.code != 503 {
                _ = try? await response.body.collect(upTo: 1 << 20)
                return Int(response.status.code)
            }
            try await Task.sleep(for: .milliseconds(25))
        }
        Issue.record("the service never answered the webhook")
        return 0
    }

    func get(_ url: String, _ client: HTTPClient) async throws -> String {
        let response = try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(10))
        return String(buffer: try await response.body.collect(upTo: 1 << 20))
    }

    func waitForHealth(_ base: String, _ client: HTTPClient) async throws {
        for _ in 0..<200 {
            if let response = try? await client.execute(HTTPClientRequest(url: base + "/health"), timeout: .seconds(1)),
                response.status == .ok
            {
                return
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("the server did not come up")
    }
}
