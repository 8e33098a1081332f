import AsyncHTTPClient
import Discord
import Domain
import EventLog
import Fakes
import Foundation
import NIOCore
import Roles
import ServiceLifecycle
import Shard
import TallyTesting
import Testing

/// The chat games through the real service: Kick chat webhooks (signed by a fake Kick) feed the
/// games, admins run them from Discord (signed by a fake Discord), answers go out through the outbox,
/// and the overlays show them live over server-sent events.
@Suite(.timeLimit(.minutes(3))) struct ChatGamesServiceTests {
    static let guild = GuildID(5_033_164_800_000_000_161)
    static let broadcaster: UInt64 = 7_700_161
    static let admin: UInt64 = 83_000_000_000_000_001
    static let channel: UInt64 = 63_000_000_000_000_001
    static let secret = Array(repeating: UInt8(8), count: 32)

    struct Setup {
        let kick: FakeKick
        let discord: FakeDiscord
        let role: ServeRole
        let base: String
        let client: HTTPClient

        func chat(_ sender: UInt64, _ content: String) async throws {
            let id = UUID().uuidString
            let body: [String: Any] = [
                "message_id": id, "broadcaster": KickIngressTests.user(ChatGamesServiceTests.broadcaster, "streamer"),
                "sender": KickIngressTests.user(sender, "viewer\(sender)"), "content": content, "emotes": [Any](),
                "created_at": FakeKick.rfc3339(Timestamp.now.rawValue),
            ]
            let hook = try kick.webhook(
                type: "chat.message.sent",
                body: try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys]),
                messageID: id, timestamp: FakeKick.rfc3339(Timestamp.now.rawValue))
            var request = HTTPClientRequest(url: base + "/v1/kick/webhook")
            request.method = .POST
            for (name, value) in hook.headers { request.headers.add(name: name, value: value) }
            request.body = .bytes(ByteBuffer(data: hook.body))
            let response = try await client.execute(request, timeout: .seconds(10))
            #expect(response.status.code == 200)
        }

        /// An admin's slash command; returns the answer's content.
        func slash(_ path: [String], _ options: [String: Any] = [:]) async throws -> String {
            var nested: [[String: Any]] = options.sorted { $0.key < $1.key }.map {
                ["name": $0.key, "type": 3, "value": $0.value]
            }
            for name in path.dropFirst().reversed() { nested = [["name": name, "type": 1, "options": nested]] }
            let id = UUID().uuidString
            let object: [String: Any] = [
                "id": id, "type": 2, "token": "token-\(id)", "guild_id": String(ChatGamesServiceTests.guild.rawValue),
                "member": [
                    "user": ["id": String(ChatGamesServiceTests.admin)], "permissions": "32", "roles": [String](),
                ],
                "data": ["name": path[0], "options": nested],
            ]
            let body = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            let signed = try discord.sign(body, timestamp: Timestamp.now.rawValue / 1000)
            var request = HTTPClientRequest(url: base + "/v1/discord/interactions")
            request.method = .POST
            for (name, value) in signed.headers { request.headers.add(name: name, value: value) }
            request.body = .bytes(ByteBuffer(data: body))
            let response = try await client.execute(request, timeout: .seconds(10))
            let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
            let answer = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
            return (answer?["data"] as? [String: Any])?["content"] as? String ?? ""
        }

        func command(_ json: String) async throws -> Int {
            var request = HTTPClientRequest(url: base + "/v1/guilds/\(ChatGamesServiceTests.guild)/commands")
            request.method = .POST
            request.headers.add(name: "Authorization", value: "Bearer t")
            request.body = .bytes(ByteBuffer(string: json))
            let response = try await client.execute(request, timeout: .seconds(10))
            _ = try await response.body.collect(upTo: 1 << 20)
            return Int(response.status.code)
        }

        func state() async throws -> GuildState? {
            try await role.cluster.node(for: ChatGamesServiceTests.guild).owner(for: ChatGamesServiceTests.guild)
                .state(of: ChatGamesServiceTests.guild)
        }

        func overlayKey() async -> String {
            await role.cluster.node(for: ChatGamesServiceTests.guild).overlayKey(for: ChatGamesServiceTests.guild)
        }

        func eventually(_ what: String, _ condition: () async throws -> Bool) async throws {
            for _ in 0..<200 {
                if try await condition() { return }
                try await Task.sleep(for: .milliseconds(50))
            }
            Issue.record("timed out waiting for \(what)")
        }
    }

    func withService(_ body: (Setup) async throws -> Void) async throws {
        let platforms = try FakePlatforms()
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        try await platforms.run(
            client: client, secret: Self.secret, adjust: { $0.publicBaseURL = "https://tally.example" }
        ) {
            role, base in
            let setup = Setup(kick: platforms.kick, discord: platforms.discord, role: role, base: base, client: client)
            let connect =
                #"{"type":"connect_kick_channel","key":"c","broadcaster_user_id":\#(Self.broadcaster),"slug":"games"}"#
            #expect(try await setup.command(connect) == 200)
            try await body(setup)
        }
    }

    /// Reads server-sent events from `url` until `done` says so (or `timeout`); returns them as
    /// (id, data) pairs.
    static func events(
        _ client: HTTPClient, _ url: String, lastEventID: String? = nil, timeout: Duration = .seconds(20),
        until done: @escaping @Sendable ([(id: String, data: String)]) -> Bool
    ) async throws -> [(id: String, data: String)] {
        var request = HTTPClientRequest(url: url)
        if let lastEventID { request.headers.add(name: "Last-Event-ID", value: lastEventID) }
        let response = try await client.execute(request, timeout: .seconds(30))
        #expect(response.headers.first(name: "Content-Type") == "text/event-stream")
        return try await withThrowingTaskGroup(of: [(id: String, data: String)].self) { group in
            group.addTask {
                var seen: [(id: String, data: String)] = []
                var text = ""
                for try await chunk in response.body {
                    text += String(buffer: chunk)
                    while let end = text.range(of: "\n\n") {
                        let block = String(text[..<end.lowerBound])
                        text = String(text[end.upperBound...])
                        var id = ""
                        var data = ""
                        for line in block.split(separator: "\n") {
                            if line.hasPrefix("id: ") { id = String(line.dropFirst(4)) }
                            if line.hasPrefix("data: ") { data = String(line.dropFirst(6)) }
                        }
                        if !data.isEmpty { seen.append((id, data)) }
                    }
                    if done(seen) { return seen }
                }
                return seen
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return []
            }
            let first = try await group.next() ?? []
            group.cancelAll()
            return first
        }
    }

    @Test func slotRequestsFromKickChatArePickedFairlyAndShownOnTheOverlay() async throws {
        try await withService { s in
            let opened = try await s.slash(["slots", "open"])
            #expect(opened.contains("Slot requests are open"), "\(opened)")
            let key = await s.overlayKey()
            let url = s.base + "/overlay/\(Self.guild)/slots/events?key=\(key)"
            // An overlay connected before the requests sees them arrive.
            async let seen = Self.events(s.client, url) { events in
                events.contains { $0.data.contains("Sweet Bonanza") }
            }
            try await Task.sleep(for: .milliseconds(200))
            try await s.chat(1, "!sr Gates of Olympus")
            try await s.chat(2, "!call Sweet Bonanza")
            let events = try await seen
            #expect(events.contains { $0.data.contains("Sweet Bonanza") && $0.data.contains("Gates of Olympus") })
            // Answered in Kick chat through the outbox.
            try await s.eventually("the replies") {
                s.kick.chats.contains { $0.content.contains("Sweet Bonanza is #2 in the queue") }
            }
            let picked = try await s.slash(["slots", "pick"])
            #expect(picked.contains("🎰"), "\(picked)")
            _ = try await s.slash(["slots", "close"])
            var all: [DomainEvent] = []
            try await s.role.cluster.node(for: Self.guild).history(for: Self.guild).forEachEvent(guild: Self.guild) {
                all.append($0.event)
            }
            let checks = SlotPicking.verify(guild: Self.guild, events: all)
            #expect(checks.count == 1 && checks[0].matches)
        }
    }

    @Test func guessTheBalanceIsRankedAndAnnouncedInKickChatAndDiscord() async throws {
        try await withService { s in
            _ = try await s.slash(
                ["settings", "set"], ["name": "games_announcement_channel", "value": String(Self.channel)])
            #expect(try await s.command(#"{"type":"open_guess","key":"g1"}"#) == 200)
            try await s.chat(1, "!guess 1,000")
            try await s.chat(2, "!guess 1234.56")
            try await s.chat(3, "!guess NaN")
            try await s.eventually("two guesses") { try await s.state()?.games.guesses.count == 2 }
            let result = try await s.slash(["guess", "result"], ["amount": "1200", "winners": "2"])
            #expect(result.contains("1. viewer2 (1,234.56, off by 34.56) 2. viewer1"), "\(result)")
            try await s.eventually("the Discord announcement") { s.discord.messages(in: Self.channel).count == 1 }
            try await s.eventually("the chat announcement") {
                s.kick.chats.contains { $0.content.hasPrefix("💰 The balance was 1,200.00") }
            }
            #expect(s.kick.chats.contains { $0.content.contains("a guess is an amount") }, "NaN was answered")
            // The guesses overlay shows the result.
            let key = await s.overlayKey()
            let events = try await Self.events(s.client, s.base + "/overlay/\(Self.guild)/guesses/events?key=\(key)") {
                !$0.isEmpty
            }
            #expect(events.first?.data.contains(#""amount":"1,200.00""#) == true, "\(events)")
        }
    }

    @Test func overlaysNeedTheirKeyAreSelfContainedAndResumeWithoutRepeats() async throws {
        try await withService { s in
            let key = await s.overlayKey()
            for kind in ["draw", "leaderboard", "slots", "guesses"] {
                let page = try await s.client.execute(
                    HTTPClientRequest(url: s.base + "/overlay/\(Self.guild)/\(kind)?key=\(key)&theme=light&size=large"),
                    timeout: .seconds(5))
                #expect(page.status.code == 200)
                let html = String(buffer: try await page.body.collect(upTo: 1 << 20))
                #expect(html.contains("background:transparent"))
                #expect(
                    !html.contains("src=") && !html.contains("href=") && !html.contains("http"), "no external asset")
                let wrong = try await s.client.execute(
                    HTTPClientRequest(url: s.base + "/overlay/\(Self.guild)/\(kind)?key=00"), timeout: .seconds(5))
                #expect(wrong.status.code == 403)
            }
            let bad = try await s.client.execute(
                HTTPClientRequest(url: s.base + "/overlay/\(Self.guild)/draw?key=\(key)&theme=<script>"),
                timeout: .seconds(5))
            #expect(bad.status.code == 400)
            #expect(
                try await s.client.execute(
                    HTTPClientRequest(url: s.base + "/overlay/\(Self.guild)/nope?key=\(key)"), timeout: .seconds(5)
                ).status.code == 404)
            // The leaderboard: a first view, then an update caused by a command (once the outbox is idle,
            // so that no delivery outcome moves the sequence in between).
            try await s.eventually("the outbox idle") { try await s.state()?.deliveries.isEmpty == true }
            let url = s.base + "/overlay/\(Self.guild)/leaderboard/events?key=\(key)"
            let first = try await Self.events(s.client, url) { !$0.isEmpty }
            let id = try #require(first.first?.id)
            // Resuming from the last id seen sends nothing until something changes…
            async let resumed = Self.events(s.client, url, lastEventID: id) { !$0.isEmpty }
            try await Task.sleep(for: .milliseconds(400))
            #expect(
                try await s.command(
                    #"{"type":"adjust_points","key":"p1","person":"kick:5","delta":250,"reason":"bonus"}"#) == 200)
            // …and then exactly the new view.
            let next = try await resumed
            #expect(next.count == 1 && next[0].data.contains(#""value":"250""#), "\(next)")
            #expect(UInt64(next[0].id)! > UInt64(id)!)
        }
    }
}
