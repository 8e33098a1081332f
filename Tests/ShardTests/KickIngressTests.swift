import AsyncHTTPClient
import Domain
import EventLog
import Fakes
import Foundation
import Kick
import NIOCore
import Roles
import ServiceLifecycle
import TallyTesting
import Testing

/// Kick's ingress and outbox against a fake Kick that signs with its own RSA key, through the real
/// service (`ServeRole`) over loopback HTTP.
@Suite(.timeLimit(.minutes(3))) struct KickIngressTests {
    static let guild = GuildID(5_033_164_800_000_000_000)
    static let broadcaster: UInt64 = 7_700_123
    static let secret = Array(repeating: UInt8(3), count: 32)

    /// A fake Kick and a service configured with its public key, both on loopback.
    struct Setup {
        let fake: FakeKick
        let base: String
        let client: HTTPClient

        @discardableResult
        func post(_ path: String, json: String, token: Bool = true) async throws -> (Int, String) {
            var request = HTTPClientRequest(url: base + path)
            request.method = .POST
            if token { request.headers.add(name: "Authorization", value: "Bearer kick-token") }
            request.body = .bytes(ByteBuffer(string: json))
            let response = try await client.execute(request, timeout: .seconds(10))
            return (Int(response.status.code), String(buffer: try await response.body.collect(upTo: 1 << 20)))
        }

        func get(_ url: String) async throws -> (Int, String, String?) {
            let response = try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(10))
            return (
                Int(response.status.code), String(buffer: try await response.body.collect(upTo: 1 << 20)),
                response.headers.first(name: "Location")
            )
        }

        /// Posts a webhook with these headers and body.
        func deliver(headers: [(String, String)], body: Data) async throws -> (Int, String) {
            var request = HTTPClientRequest(url: base + "/v1/kick/webhook")
            request.method = .POST
            for (name, value) in headers { request.headers.add(name: name, value: value) }
            request.body = .bytes(ByteBuffer(data: body))
            let response = try await client.execute(request, timeout: .seconds(10))
            return (Int(response.status.code), String(buffer: try await response.body.collect(upTo: 1 << 20)))
        }

        func webhook(_ type: String, _ body: [String: Any], id: String, at time: Int64 = Timestamp.now.rawValue) throws
            -> FakeKick.Webhook
        {
            try fake.webhook(
                type: type, body: try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys]),
                messageID: id,
                timestamp: FakeKick.rfc3339(time))
        }

        func eventually(_ what: String, _ condition: () async throws -> Bool) async throws {
            for _ in 0..<200 {
                if try await condition() { return }
                try await Task.sleep(for: .milliseconds(50))
            }
            Issue.record("timed out waiting for \(what)")
        }
    }

    static func user(_ id: UInt64, _ name: String) -> [String: Any] {
        ["is_anonymous": false, "user_id": id, "username": name, "is_verified": false, "channel_slug": name]
    }

    static func chat(_ sender: UInt64, _ name: String, _ content: String, id: String) -> [String: Any] {
        [
            "message_id": id, "broadcaster": user(broadcaster, "streamer"), "sender": user(sender, name),
            "content": content, "emotes": [Any](), "created_at": FakeKick.rfc3339(Timestamp.now.rawValue),
        ]
    }

    /// Runs a fake Kick and the service around `body`.
    func withService(_ body: (Setup) async throws -> Void) async throws {
        let fake = try FakeKick()
        let directory = TemporaryDirectory()
        let fakePort = RolesTests.BoundPort()
        let servicePort = RolesTests.BoundPort()
        var httpConfiguration = HTTPClient.Configuration()
        httpConfiguration.redirectConfiguration = .disallow
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: httpConfiguration)
        let fakeGroup = ServiceGroup(
            services: [
                fake.application(address: .hostname("127.0.0.1", port: 0), onServerRunning: { fakePort.set($0) })
            ],
            gracefulShutdownSignals: [], logger: testLogger)
        do {
            try await run(fake, directory, fakePort, servicePort, client, fakeGroup, body)
        } catch {
            try await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }

    private func run(
        _ fake: FakeKick, _ directory: TemporaryDirectory, _ fakePort: RolesTests.BoundPort,
        _ servicePort: RolesTests.BoundPort, _ client: HTTPClient, _ fakeGroup: ServiceGroup,
        _ body: (Setup) async throws -> Void
    ) async throws {
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await fakeGroup.run() }
            let kickBase = "http://127.0.0.1:\(try await fakePort.wait())"
            var configuration = ServeRole.Configuration(
                data: try DataDirectory.open(path: directory.path, creatingWith: 4), operatorToken: "kick-token",
                raffleSecret: Self.secret)
            configuration.address = .hostname("127.0.0.1", port: 0)
            configuration.kick = fake.configuration(base: kickBase)
            configuration.onServerRunning = { servicePort.set($0) }
            let role = try ServeRole(configuration: configuration, logger: testLogger)
            let group = role.serviceGroup(gracefulShutdownSignals: [])
            tasks.addTask { try await group.run() }
            let base = "http://127.0.0.1:\(try await servicePort.wait())"
            do {
                try await body(Setup(fake: fake, base: base, client: client))
            } catch {
                await group.triggerGracefulShutdown()
                await fakeGroup.triggerGracefulShutdown()
                throw error
            }
            await group.triggerGracefulShutdown()
            await fakeGroup.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    func connect(_ s: Setup) async throws {
        let (status, body) = try await s.post(
            "/v1/guilds/\(Self.guild)/commands",
            json:
                #"{"type":"connect_kick_channel","key":"connect","broadcaster_user_id":\#(Self.broadcaster),"slug":"streamer"}"#
        )
        #expect(status == 200, "\(body)")
    }

    @Test func everySingleByteChangeToSignatureBodyOrSignedHeadersIsRefused() async throws {
        try await withService { s in
            try await connect(s)
            let original = try s.webhook(
                "chat.message.sent", Self.chat(42, "viewer", "hello", id: "c1"), id: "01JDZ3N9V2X8K7Q4W5E6R7T8Y9")
            func header(_ name: String) -> String { original.headers.first { $0.0 == name }!.1 }
            func replacing(_ name: String, with value: String) -> [(String, String)] {
                original.headers.map { $0.0 == name ? ($0.0, value) : $0 }
            }
            var refused = 0
            var tried = 0
            func expectRefused(_ headers: [(String, String)], _ body: Data, _ what: String) async throws {
                tried += 1
                let (status, _) = try await s.deliver(headers: headers, body: body)
                if status == 401 { refused += 1 } else { Issue.record("\(what) was answered \(status)") }
            }
            // The signature's bytes (decoded, flipped, encoded again).
            let signature = Array(Data(base64Encoded: header("Kick-Event-Signature"))!)
            for i in signature.indices {
                var flipped = signature
                flipped[i] ^= 0x01
                try await expectRefused(
                    replacing("Kick-Event-Signature", with: Data(flipped).base64EncodedString()), original.body,
                    "signature byte \(i)")
            }
            // Each byte of the body and of the signed headers.
            for i in original.body.indices {
                var body = original.body
                body[i] ^= 0x01
                try await expectRefused(original.headers, body, "body byte \(i)")
            }
            for name in ["Kick-Event-Message-Id", "Kick-Event-Message-Timestamp"] {
                let bytes = Array(header(name).utf8)
                for i in bytes.indices {
                    var flipped = bytes
                    flipped[i] ^= 0x01
                    try await expectRefused(
                        replacing(name, with: String(decoding: flipped, as: UTF8.self)), original.body,
                        "\(name) byte \(i)")
                }
            }
            #expect(refused == tried && tried > 500)
            // Missing headers, a stale message and one from the future are refused too.
            for name in ["Kick-Event-Message-Id", "Kick-Event-Message-Timestamp", "Kick-Event-Signature"] {
                let (status, _) = try await s.deliver(
                    headers: original.headers.filter { $0.0 != name }, body: original.body)
                #expect(status == 401, "without \(name)")
            }
            let stale = try s.webhook(
                "chat.message.sent", Self.chat(42, "viewer", "hello", id: "c2"), id: "stale",
                at: Timestamp.now.rawValue - 11 * 60_000)
            #expect(try await s.deliver(headers: stale.headers, body: stale.body).0 == 401)
            let future = try s.webhook(
                "chat.message.sent", Self.chat(42, "viewer", "hello", id: "c3"), id: "future",
                at: Timestamp.now.rawValue + 5 * 60_000)
            #expect(try await s.deliver(headers: future.headers, body: future.body).0 == 401)
            // Nothing of the refused ones reached the guild; the original itself is accepted once.
            let (_, people, _) = try await s.get(s.base + "/v1/guilds/\(Self.guild)/people/kick:42")
            #expect(people.contains("unknown_person"))
            let (status, body) = try await s.deliver(headers: original.headers, body: original.body)
            #expect(status == 200 && body.contains(#""duplicate":false"#))
            let (again, repeatBody) = try await s.deliver(headers: original.headers, body: original.body)
            #expect(again == 200 && repeatBody.contains(#""duplicate":true"#))
        }
    }

    @Test func unconnectedChannelsAndUnknownTypesAreAcknowledgedAndDropped() async throws {
        try await withService { s in
            let unconnected = try s.webhook("chat.message.sent", Self.chat(42, "viewer", "hi", id: "c1"), id: "m-1")
            let (status, body) = try await s.deliver(headers: unconnected.headers, body: unconnected.body)
            #expect(status == 200 && body.contains(#""guilds":[]"#))
            let follow = try s.webhook(
                "channel.followed", ["broadcaster": Self.user(Self.broadcaster, "streamer")], id: "m-2")
            #expect(try await s.deliver(headers: follow.headers, body: follow.body).0 == 200)
            let malformed = try s.fake.webhook(
                type: "chat.message.sent", body: Data("{\"nope\":1}".utf8), messageID: "m-3",
                timestamp: FakeKick.rfc3339(Timestamp.now.rawValue))
            #expect(try await s.deliver(headers: malformed.headers, body: malformed.body).0 == 400)
        }
    }

    @Test func connectingSubscribesAndChatCommandsAreAnsweredThroughTheOutboxAcrossA429() async throws {
        try await withService { s in
            try await connect(s)
            try await s.eventually("the subscription request") { !s.fake.subscriptions.isEmpty }
            #expect(s.fake.subscriptions.map(\.broadcaster) == [Self.broadcaster])
            #expect(s.fake.subscriptions.first?.events == KickChannel.subscribedEvents)
            try await s.post(
                "/v1/guilds/\(Self.guild)/commands",
                json: #"{"type":"adjust_points","key":"p","person":"kick:42","delta":1234,"reason":"welcome"}"#)
            s.fake.inject(.status(429, retryAfter: 1), on: "chat")
            let started = ContinuousClock.now
            let hook = try s.webhook("chat.message.sent", Self.chat(42, "viewer", "!points", id: "chat-1"), id: "m-1")
            #expect(try await s.deliver(headers: hook.headers, body: hook.body).0 == 200)
            try await s.eventually("the reply") { !s.fake.chats.isEmpty }
            #expect(ContinuousClock.now - started >= .seconds(1), "Retry-After was honoured")
            #expect(s.fake.chats.map(\.content) == ["@viewer you have 1,234 points."])
            #expect(s.fake.chats.first?.replyTo == "chat-1" && s.fake.chats.first?.broadcaster == Self.broadcaster)
            // A retried webhook is a duplicate: no second reply.
            #expect(try await s.deliver(headers: hook.headers, body: hook.body).1.contains(#""duplicate":true"#))
            try await Task.sleep(for: .milliseconds(400))
            #expect(s.fake.chats.count == 1)
        }
    }

    @Test func aViewerLinksTheirKickAccountThroughOAuthWithPKCE() async throws {
        try await withService { s in
            try await connect(s)
            let user: UInt64 = 1_100_000_000_000_000_001
            s.fake.consent(as: 4_242_001, name: "mizuro")
            // The viewer chatted on Kick before linking and earned something there.
            let hello = try s.webhook("chat.message.sent", Self.chat(4_242_001, "mizuro", "hello", id: "c1"), id: "m-1")
            #expect(try await s.deliver(headers: hello.headers, body: hello.body).0 == 200)
            try await s.post(
                "/v1/guilds/\(Self.guild)/commands",
                json: #"{"type":"adjust_points","key":"p","person":"kick:4242001","delta":70,"reason":"welcome"}"#)
            let token = LinkToken.make(guild: Self.guild, user: user, raffleSecret: Self.secret, now: .now)
            let (startStatus, _, authorize) = try await s.get(s.base + "/v1/link/start?token=\(token)")
            #expect(startStatus == 302)
            let authorizeURL = try #require(authorize)
            #expect(authorizeURL.contains("code_challenge_method=S256") && authorizeURL.contains("scope=user:read"))
            let (consentStatus, _, callback) = try await s.get(authorizeURL)
            #expect(consentStatus == 302)
            // Kick sends the viewer to the public URL; here the service listens on a free port.
            let callbackURL = try #require(callback).replacingOccurrences(of: "http://127.0.0.1:8080", with: s.base)
            #expect(callbackURL.hasPrefix(s.base + "/v1/link/callback?"))
            let (linked, page, _) = try await s.get(callbackURL)
            #expect(linked == 200 && page.contains("is now linked"), "\(page)")
            // The callback replayed: a 400 page, nothing changes.
            let (replayed, replayPage, _) = try await s.get(callbackURL)
            #expect(replayed == 400 && replayPage.contains("already used"))
            // A forged or expired token, and an unknown state.
            #expect(try await s.get(s.base + "/v1/link/start?token=AAAA").0 == 400)
            let expired = LinkToken.make(
                guild: Self.guild, user: user, raffleSecret: Self.secret, now: Timestamp(milliseconds: 0))
            #expect(try await s.get(s.base + "/v1/link/start?token=\(expired)").0 == 400)
            #expect(try await s.get(s.base + "/v1/link/callback?code=x&state=\(Self.guild).nope").0 == 400)
            // The chatter's earnings now belong to the Discord user.
            let (_, person, _) = try await s.get(s.base + "/v1/guilds/\(Self.guild)/people/discord:\(user)")
            #expect(person.contains("\"name\":\"mizuro\"") && person.contains("\"points\":70"), "\(person)")
        }
    }

    @Test func redeliveriesUnderNewIdsAreDuplicatesAndAnonymousGiftsEarnNothing() async throws {
        try await withService { s in
            try await connect(s)
            try await s.post("/v1/guilds/\(Self.guild)/commands", json: #"{"type":"open_raffle_period","key":"open"}"#)
            let created = FakeKick.rfc3339(Timestamp.now.rawValue - 1_000)
            let gift: [String: Any] = [
                "broadcaster": Self.user(Self.broadcaster, "streamer"), "gifter": Self.user(77, "generous"),
                "giftees": [Self.user(1, "a"), Self.user(2, "b")], "created_at": created,
            ]
            // Kick's duplicated subscription: the same gift under two message ids.
            for id in ["gift-a", "gift-b"] {
                let hook = try s.webhook("channel.subscription.gifts", gift, id: id)
                #expect(try await s.deliver(headers: hook.headers, body: hook.body).0 == 200)
            }
            let (_, person, _) = try await s.get(s.base + "/v1/guilds/\(Self.guild)/people/kick:77")
            #expect(person.contains("\"total_tickets\":30"), "credited once: \(person)")
            // An anonymous gifter earns nothing, and the gift is recorded with the reason.
            var anonymous = gift
            anonymous["gifter"] = ["is_anonymous": true, "user_id": NSNull(), "username": NSNull()]
            let hook = try s.webhook("channel.subscription.gifts", anonymous, id: "gift-c")
            #expect(try await s.deliver(headers: hook.headers, body: hook.body).0 == 200)
            let (_, raffle, _) = try await s.get(s.base + "/v1/guilds/\(Self.guild)/raffle")
            #expect(raffle.contains("\"total_tickets\":30"), "the anonymous gift credited nobody: \(raffle)")
            // A late "live" report older than the newest one does not reopen the stream.
            let ended =
                [
                    "broadcaster": Self.user(Self.broadcaster, "streamer"), "is_live": false,
                    "started_at": FakeKick.rfc3339(Timestamp.now.rawValue - 60_000),
                    "ended_at": FakeKick.rfc3339(Timestamp.now.rawValue - 1_000),
                ] as [String: Any]
            let late =
                [
                    "broadcaster": Self.user(Self.broadcaster, "streamer"), "is_live": true,
                    "started_at": FakeKick.rfc3339(Timestamp.now.rawValue - 60_000),
                ] as [String: Any]
            for (id, body) in [("end", ended), ("late", late)] {
                let status = try s.webhook("livestream.status.updated", body, id: id)
                #expect(try await s.deliver(headers: status.headers, body: status.body).0 == 200)
            }
            let (_, settings, _) = try await s.get(s.base + "/v1/guilds/\(Self.guild)/settings")
            #expect(settings.contains("\"live\":false"), "\(settings)")
        }
    }
}
