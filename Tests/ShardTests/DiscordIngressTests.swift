import AsyncHTTPClient
import Discord
import Domain
import EventLog
import Fakes
import Foundation
import NIOCore
import Roles
import ServiceLifecycle
import TallyTesting
import Testing

/// Discord's interactions and the outbox's Discord deliveries against a fake Discord that signs with
/// its own Ed25519 key, through the real service (`ServeRole`) over loopback HTTP.
@Suite(.timeLimit(.minutes(3))) struct DiscordIngressTests {
    static let guild = GuildID(5_033_164_800_000_000_001)
    static let admin: UInt64 = 80_000_000_000_000_001
    static let viewer: UInt64 = 80_000_000_000_000_002
    static let secret = Array(repeating: UInt8(4), count: 32)

    struct Setup {
        let fake: FakeDiscord
        let role: ServeRole
        let base: String
        /// The fake Discord's base URL.
        let fakeBase: String
        let client: HTTPClient

        /// Posts `body` with these headers to the interactions endpoint.
        func post(headers: [(String, String)], body: Data) async throws -> (Int, String) {
            var request = HTTPClientRequest(url: base + "/v1/discord/interactions")
            request.method = .POST
            for (name, value) in headers { request.headers.add(name: name, value: value) }
            request.body = .bytes(ByteBuffer(data: body))
            let response = try await client.execute(request, timeout: .seconds(10))
            return (Int(response.status.code), String(buffer: try await response.body.collect(upTo: 1 << 20)))
        }

        /// Signs and posts an interaction; returns the status and the decoded answer.
        @discardableResult
        func interact(_ object: [String: Any], at time: Int64 = Timestamp.now.rawValue / 1000) async throws
            -> (status: Int, answer: [String: Any])
        {
            let body = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            let signed = try fake.sign(body, timestamp: time)
            let (status, text) = try await post(headers: signed.headers, body: body)
            let answer = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
            return (status, answer)
        }

        /// A slash command by `user` (an admin with Manage Server when `admin`).
        @discardableResult
        func command(
            _ path: [String], _ options: [String: Any] = [:], user: UInt64 = DiscordIngressTests.viewer,
            admin: Bool = false, id: String = UUID().uuidString, guild: GuildID? = DiscordIngressTests.guild
        ) async throws -> String {
            let leaves = options.sorted { $0.key < $1.key }.map { ["name": $0.key, "type": 3, "value": $0.value] }
            var nested: [[String: Any]] = leaves
            for name in path.dropFirst().reversed() { nested = [["name": name, "type": 1, "options": nested]] }
            var object: [String: Any] = [
                "id": id, "type": 2, "token": "token-\(id)", "application_id": fake.applicationID,
                "data": ["name": path[0], "options": nested],
            ]
            if let guild {
                object["guild_id"] = String(guild.rawValue)
                object["member"] = [
                    "user": ["id": String(user)], "permissions": admin ? "32" : "0", "roles": [String](),
                ]
            } else {
                object["user"] = ["id": String(user)]
            }
            let (status, answer) = try await interact(object)
            #expect(status == 200)
            // A deferred command ("thinking…") is finished by the outbox editing the original response.
            if answer["type"] as? Int == 5 { return try await followUp(token: "token-\(id)") }
            return (answer["data"] as? [String: Any])?["content"] as? String ?? ""
        }

        /// The content a deferred interaction's original response was edited to (waits for it).
        func followUp(token: String) async throws -> String {
            for _ in 0..<400 {
                if let body = fake.original(token: token) {
                    let object = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
                    return object?["content"] as? String ?? ""
                }
                try await Task.sleep(for: .milliseconds(25))
            }
            Issue.record("the deferred interaction \(token) was never finished")
            return ""
        }

        func state() async throws -> GuildState? {
            try await role.cluster.node(for: DiscordIngressTests.guild).owner(for: DiscordIngressTests.guild)
                .state(of: DiscordIngressTests.guild)
        }

        func handle(_ command: Command, key: String) async throws {
            _ = try await role.cluster.node(for: DiscordIngressTests.guild).handle(
                command, guild: DiscordIngressTests.guild, context: CommandContext(key: key, time: .now))
        }

        func eventually(_ what: String, tries: Int = 400, _ condition: () async throws -> Bool) async throws {
            for _ in 0..<tries {
                if try await condition() { return }
                try await Task.sleep(for: .milliseconds(50))
            }
            Issue.record("timed out waiting for \(what)")
        }
    }

    /// Runs a fake Discord and the service around `body`.
    func withService(_ fake: FakeDiscord = FakeDiscord(), _ body: (Setup) async throws -> Void) async throws {
        let directory = TemporaryDirectory()
        let fakePort = RolesTests.BoundPort()
        let servicePort = RolesTests.BoundPort()
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let fakeGroup = ServiceGroup(
            services: [
                fake.application(address: .hostname("127.0.0.1", port: 0), onServerRunning: { fakePort.set($0) })
            ],
            gracefulShutdownSignals: [], logger: testLogger)
        do {
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await fakeGroup.run() }
                var configuration = ServeRole.Configuration(
                    data: try DataDirectory.open(path: directory.path, creatingWith: 4), operatorToken: "t",
                    raffleSecret: Self.secret)
                configuration.address = .hostname("127.0.0.1", port: 0)
                let fakeBase = "http://127.0.0.1:\(try await fakePort.wait())"
                configuration.discord = fake.configuration(base: fakeBase)
                configuration.publicBaseURL = "https://tally.example"
                configuration.onServerRunning = { servicePort.set($0) }
                let role = try ServeRole(configuration: configuration, logger: testLogger)
                let group = role.serviceGroup(gracefulShutdownSignals: [])
                tasks.addTask { try await group.run() }
                let base = "http://127.0.0.1:\(try await servicePort.wait())"
                do {
                    try await body(Setup(fake: fake, role: role, base: base, fakeBase: fakeBase, client: client))
                } catch {
                    await group.triggerGracefulShutdown()
                    await fakeGroup.triggerGracefulShutdown()
                    throw error
                }
                await group.triggerGracefulShutdown()
                await fakeGroup.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
        } catch {
            try await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }

    @Test func aPingIsPongedAndForgedStaleOrUnsignedInteractionsAre401() async throws {
        try await withService { s in
            let (status, answer) = try await s.interact(["id": "1", "type": 1])
            #expect(status == 200 && answer.count == 1 && answer["type"] as? Int == 1)
            let body = Data(#"{"id":"2","type":1}"#.utf8)
            let signed = try s.fake.sign(body, timestamp: Timestamp.now.rawValue / 1000)
            var refused = 0
            // Every byte of the signature, flipped (as hex), and every byte of the body and the timestamp.
            let signature = Array(signed.signature.utf8)
            for i in signature.indices {
                var changed = signature
                changed[i] = changed[i] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
                var headers = signed.headers
                headers[0].1 = String(decoding: changed, as: UTF8.self)
                if try await s.post(headers: headers, body: body).0 == 401 { refused += 1 }
            }
            for i in body.indices {
                var changed = body
                changed[i] ^= 1
                if try await s.post(headers: signed.headers, body: changed).0 == 401 { refused += 1 }
            }
            let timestamp = Array(signed.timestamp.utf8)
            for i in timestamp.indices {
                var changed = timestamp
                changed[i] ^= 1
                var headers = signed.headers
                headers[1].1 = String(decoding: changed, as: UTF8.self)
                if try await s.post(headers: headers, body: body).0 == 401 { refused += 1 }
            }
            #expect(refused == signature.count + body.count + timestamp.count)
            #expect(try await s.post(headers: signed.headers, body: body).0 == 200)
            #expect(try await s.post(headers: [], body: body).0 == 401)
            #expect(try await s.post(headers: [signed.headers[0]], body: body).0 == 401)
            #expect(
                try await s.interact(["id": "3", "type": 1], at: Timestamp.now.rawValue / 1000 - 301).status == 401)
            #expect(
                try await s.interact(["id": "4", "type": 1], at: Timestamp.now.rawValue / 1000 + 301).status == 401)
            // Signed garbage is a 400, never a 500.
            let junk = Data("not json".utf8)
            let signedJunk = try s.fake.sign(junk, timestamp: Timestamp.now.rawValue / 1000)
            #expect(try await s.post(headers: signedJunk.headers, body: junk).0 == 400)
        }
    }

    @Test func directMessagesAndGuildsWithoutTallyGetPoliteAnswers() async throws {
        try await withService { s in
            let dm = try await s.command(["points", "view"], guild: nil)
            #expect(dm.contains("only works inside a server"))
            let unset = try await s.command(["points", "view"])
            #expect(unset.contains("not set up"))
            // An admin's setting sets the guild up.
            let set = try await s.command(
                ["settings", "set"], ["name": "leaderboard_default", "value": "5"], admin: true)
            #expect(set.contains("leaderboard_default is now 5"))
            #expect(try await s.command(["points", "view"]) == "You have 0 points.")
            // Viewers cannot use admin commands.
            #expect(
                try await s.command(["points", "add"], ["user": "1", "amount": 5, "reason": "x"]).contains(
                    "Only server admins"))
        }
    }

    @Test func everyRegisteredCommandPathHasAHandler() async throws {
        try await withService { s in
            _ = try await s.command(["settings", "set"], ["name": "leaderboard_default", "value": "10"], admin: true)
            var paths = 0
            for command in SlashCommand.tally {
                for path in command.paths {
                    let answer = try await s.command(path, admin: true)
                    #expect(!answer.isEmpty && !answer.contains("does not know that command"), "\(path): \(answer)")
                    paths += 1
                }
            }
            #expect(paths >= 25)
            #expect(try await s.command(["nosuch"], admin: true).contains("does not know that command"))
        }
    }

    @Test func adminActionsAreTheirDiscordUsersAndAReplayedInteractionChangesNothing() async throws {
        try await withService { s in
            let added = try await s.command(
                ["points", "add"], ["user": String(Self.viewer), "amount": 150, "reason": "stream bonus"],
                user: Self.admin, admin: true, id: "900001")
            #expect(added.contains("now has 150"), "\(added)")
            let replay = try await s.command(
                ["points", "add"], ["user": String(Self.viewer), "amount": 150, "reason": "stream bonus"],
                user: Self.admin, admin: true, id: "900001")
            #expect(replay == "Already done.")
            #expect(try await s.state()?.person(.discord(UserID(Self.viewer))).points == 150)
            #expect(try await s.command(["points", "view"]) == "You have 150 points.")
            // The event names the admin as its actor.
            let history = try await s.role.cluster.node(for: Self.guild).history(for: Self.guild)
            var by: [UserID] = []
            try history.forEachEvent(guild: Self.guild) {
                if case .pointsAdjusted(_, _, _, let who) = $0.event { by.append(who) }
            }
            #expect(by == [UserID(Self.admin)])
            // Plain-words errors.
            let tooMuch = try await s.command(
                ["points", "remove"], ["user": String(Self.viewer), "amount": 1000, "reason": "oops"], user: Self.admin,
                admin: true)
            #expect(tooMuch.hasPrefix("Balance 150 cannot go below zero"), "\(tooMuch)")
        }
    }

    @Test func buyingAsksForConfirmationAndTheButtonBuysOnce() async throws {
        try await withService { s in
            _ = try await s.command(["shop", "create"], ["name": "Shout-out", "price": 100], admin: true)
            _ = try await s.command(
                ["points", "add"], ["user": String(Self.viewer), "amount": 40, "reason": "x"], admin: true)
            #expect(try await s.command(["buy"], ["item": 1]) == "You have 40 points; Shout-out costs 100.")
            _ = try await s.command(
                ["points", "add"], ["user": String(Self.viewer), "amount": 100, "reason": "x"], admin: true)
            let body = try JSONSerialization.data(
                withJSONObject: [
                    "id": "b1", "type": 2, "guild_id": String(Self.guild.rawValue),
                    "member": ["user": ["id": String(Self.viewer)], "permissions": "0"],
                    "data": ["name": "buy", "options": [["name": "item", "type": 4, "value": 1]]],
                ])
            let signed = try s.fake.sign(body, timestamp: Timestamp.now.rawValue / 1000)
            let (_, text) = try await s.post(headers: signed.headers, body: body)
            #expect(text.contains("custom_id") && text.contains("Buy Shout-out for 100 points?"))
            let custom = "buy:1:\(Self.viewer):"
            func press(_ id: String, user: UInt64 = Self.viewer) async throws -> [String: Any] {
                try await s.interact([
                    "id": id, "type": 3, "guild_id": String(Self.guild.rawValue),
                    "member": ["user": ["id": String(user)], "permissions": "0"], "message": ["id": "m1"],
                    "data": ["custom_id": custom, "component_type": 2],
                ]).answer
            }
            let someoneElse = try await press("p0", user: Self.admin)
            #expect(
                ((someoneElse["data"] as? [String: Any])?["content"] as? String)?.contains("someone else's") == true)
            let first = try await press("p1")
            #expect(first["type"] as? Int == 7)
            #expect(((first["data"] as? [String: Any])?["content"] as? String)?.contains("order #1") == true)
            let again = try await press("p2")
            #expect(((again["data"] as? [String: Any])?["content"] as? String) == "Already bought.")
            #expect(try await s.state()?.person(.discord(UserID(Self.viewer))).points == 40)
            // The admin sees the order and fulfils it with its button.
            let orders = try await s.command(["orders"], admin: true)
            #expect(orders.contains("#1 Shout-out"))
        }
    }

    @Test func linkAnswersWithASignedLinkButton() async throws {
        try await withService { s in
            _ = try await s.command(["settings", "set"], ["name": "leaderboard_default", "value": "10"], admin: true)
            let body = try JSONSerialization.data(
                withJSONObject: [
                    "id": "l1", "type": 2, "guild_id": String(Self.guild.rawValue),
                    "member": ["user": ["id": String(Self.viewer)], "permissions": "0"], "data": ["name": "link"],
                ])
            let signed = try s.fake.sign(body, timestamp: Timestamp.now.rawValue / 1000)
            let (_, text) = try await s.post(headers: signed.headers, body: body)
            #expect(text.contains(#""url":"https://tally.example/v1/link/start?token="#), "\(text)")
            #expect(text.contains(#""flags":64"#))
        }
    }

    /// 2,000 role changes for one guild against a role bucket of 5 requests per 25 ms (Discord's real
    /// bucket is 5 per 5 s; the window is short so the test runs in seconds — the limiter only ever
    /// reads the fake's headers, so the window's length changes nothing of what is tested).
    @Test(.timeLimit(.minutes(3)))
    func twoThousandRoleChangesAreDeliveredInOrderWithoutRateLimitErrors() async throws {
        let fake = FakeDiscord(roleLimit: .init(requests: 5, window: .milliseconds(25)), globalPerSecond: 10_000)
        try await withService(fake) { s in
            let users = (1...100).map { UserID(90_000_000_000_000_000 + UInt64($0)) }
            for (i, user) in users.enumerated() {
                try await s.handle(
                    .requestLink(user, expiresAt: Timestamp(milliseconds: Timestamp.now.rawValue + 600_000)),
                    key: "r\(i)")
                try await s.handle(
                    .confirmLink(user, KickUserID(UInt64(i + 1)), kickUsername: "viewer\(i)"), key: "c\(i)")
            }
            let roles = (1...10).map { RoleID(70_000_000_000_000_000 + UInt64($0)) }
            // A forced 429 and three 500s on the way: retried, and the order per member still kept.
            fake.inject(.rateLimited(retryAfter: 0.05, scope: "user"), on: "roles")
            fake.inject(.status(500, code: 0), on: "roles", count: 3)
            for (i, role) in roles.enumerated() {
                try await s.handle(
                    .setRoleThreshold(RoleThreshold(role: role, name: "Tier \(i)", minutes: 0, position: Int32(i))),
                    key: "t\(i)")
            }
            try await s.handle(.setSetting(.roleRemovalEnabled, 1), key: "removal")
            for (i, role) in roles.enumerated() { try await s.handle(.removeRoleThreshold(role), key: "x\(i)") }
            let started = ContinuousClock.now
            try await s.eventually("every role change delivered", tries: 2400) {
                try await s.state()?.deliveries.isEmpty == true
            }
            let elapsed = started.duration(to: .now)
            let calls = fake.calls.filter { $0.path.contains("/roles/") }
            let succeeded = calls.filter { $0.status == 204 }
            #expect(succeeded.count == 2000)
            // Besides the forced one, at most one 429: the first removal, sent before the limiter can know
            // that removals share the grants' bucket (Discord names a route's bucket only in its answers).
            let ownLimits = fake.rateLimitedCount - 1
            #expect(ownLimits >= 0 && ownLimits <= 1, "\(ownLimits) rate-limited answers beyond the forced one")
            #expect(calls.count == 2000 + 4 + ownLimits)
            // Per member and role: granted first, removed last; nobody ends holding a role.
            var last: [String: String] = [:]
            for call in succeeded {
                let key = call.path
                if call.method == "DELETE" { #expect(last[key] == "PUT", "\(key) removed before it was granted") }
                last[key] = call.method
            }
            #expect(last.values.allSatisfy { $0 == "DELETE" } && last.count == 1000)
            for user in users { #expect(fake.roles(guild: Self.guild.rawValue, user: user.rawValue).isEmpty) }
            #expect(try await s.state()?.outbox.isEmpty == true)
            print("2000 role changes delivered in \(elapsed) with 5 requests per 25 ms per bucket")
        }
    }

    @Test func permanentFailuresAreRecordedAndShownByRolesStatus() async throws {
        try await withService { s in
            let user = UserID(90_000_000_000_000_500)
            try await s.handle(
                .requestLink(user, expiresAt: Timestamp(milliseconds: Timestamp.now.rawValue + 600_000)), key: "r")
            try await s.handle(.confirmLink(user, KickUserID(5), kickUsername: "five"), key: "c")
            s.fake.inject(.status(403, code: 50013), on: "roles")
            _ = try await s.command(["roles", "set"], ["role": "70000000000000777", "minutes": 0], admin: true)
            try await s.eventually("the failure recorded") { try await s.state()?.deliveries.isEmpty == true }
            let status = try await s.command(["roles", "status"], admin: true)
            #expect(status.contains("0 role changes waiting"), "\(status)")
            #expect(status.contains("missing permissions") && status.contains("50013"), "\(status)")
            // Refused for good: tried once, not again.
            #expect(s.fake.calls.filter { $0.path.contains("/roles/") }.count == 1)
        }
    }

    @Test func aRaffleDrawIsAnnouncedOnceInTheAnnouncementChannel() async throws {
        try await withService { s in
            let channel: UInt64 = 60_000_000_000_000_001
            _ = try await s.command(
                ["settings", "set"], ["name": "raffle_announcement_channel", "value": String(channel)], admin: true)
            // Only a closed period whose beacon is out is drawn: one that ended an hour ago.
            try await prepareEndedPeriod(
                node: await s.role.cluster.node(for: Self.guild), guild: Self.guild, secret: Self.secret,
                tickets: [.discord(UserID(Self.viewer)): 10])
            // The first post fails with a 502 and is retried: the nonce keeps it to one message.
            s.fake.inject(.status(502, code: 0), on: "messages")
            let drawn = try await s.command(["raffle", "draw"], user: Self.admin, admin: true, id: "draw-1")
            #expect(drawn.contains("<@\(Self.viewer)>"), "\(drawn)")
            // Replayed: deferred again, drawn nothing, and its answer (already sent) not sent again.
            _ = try await s.command(["raffle", "draw"], user: Self.admin, admin: true, id: "draw-1")
            // (Give the replay's job time to run: its follow-up is a duplicate, so no second edit may appear.)
            try await Task.sleep(for: .milliseconds(500))
            try await s.eventually("the announcement posted") { s.fake.messages(in: channel).count == 1 }
            try await s.eventually("its outcome recorded") { try await s.state()?.deliveries.isEmpty == true }
            #expect(s.fake.messages(in: channel).count == 1)
            #expect(s.fake.messages(in: channel)[0].contains("the winner is <@\(Self.viewer)>"))
            let posts = s.fake.calls.filter { $0.path.hasSuffix("/messages") }
            #expect(posts.count == 2 && posts.allSatisfy { $0.body.contains(#""enforce_nonce":true"#) })
            #expect(s.fake.calls.filter { $0.path.hasSuffix("/token-draw-1/messages/@original") }.count == 1)
            var draws = 0
            try await s.role.cluster.node(for: Self.guild).history(for: Self.guild).forEachEvent(guild: Self.guild) {
                if case .raffleWinnerDrawn = $0.event { draws += 1 }
            }
            #expect(draws == 1)
        }
    }

    @Test func slowCommandsAnswerThinkingAtOnceAndAreFinishedThroughTheOutbox() async throws {
        try await withService { s in
            _ = try await s.command(["settings", "set"], ["name": "leaderboard_default", "value": "5"], admin: true)
            // The follow-up's first PATCH is rate limited: the outbox waits and sends it again.
            s.fake.inject(.rateLimited(retryAfter: 0.3, scope: "user"), on: "webhooks")
            let object: [String: Any] = [
                "id": "700001", "type": 2, "token": "token-700001", "application_id": s.fake.applicationID,
                "guild_id": String(Self.guild.rawValue),
                "member": ["user": ["id": String(Self.admin)], "permissions": "32", "roles": [String]()],
                "data": ["name": "roles", "options": [["name": "status", "type": 1, "options": [Any]()]]],
            ]
            let started = ContinuousClock.now
            let (status, answer) = try await s.interact(object)
            let firstResponse = started.duration(to: .now)
            #expect(status == 200)
            #expect(answer["type"] as? Int == 5, "\(answer)")
            #expect((answer["data"] as? [String: Any])?["flags"] as? Int == 64, "ephemeral, like its answer")
            #expect(firstResponse < .seconds(1))
            let content = try await s.followUp(token: "token-700001")
            #expect(content.contains("role changes waiting"), "\(content)")
            let patches = s.fake.calls.filter {
                $0.method == "PATCH"
                    && $0.path == "/api/v10/webhooks/\(s.fake.applicationID)/token-700001/messages/@original"
            }
            #expect(patches.count == 2, "a 429, then the edit")
            let edit = patches.last?.body ?? "flags"
            #expect(!edit.contains("flags"), "an edit cannot change the ephemeral flag")
            try await s.eventually("the follow-up's outcome recorded") {
                try await s.state()?.deliveries.isEmpty == true
            }
            // A viewer is refused at once, not deferred.
            var viewer = object
            viewer["id"] = "700002"
            viewer["member"] = ["user": ["id": String(Self.viewer)], "permissions": "0", "roles": [String]()]
            let (_, refused) = try await s.interact(viewer)
            #expect(refused["type"] as? Int == 4)
            let refusal = (refused["data"] as? [String: Any])?["content"] as? String
            #expect(refusal?.contains("Only server admins") == true, "\(refused)")
        }
    }

    @Test func registerCommandsOverwritesTheWholeSet() async throws {
        try await withService { s in
            let api = DiscordAPI(configuration: s.fake.configuration(base: s.fakeBase), client: s.client)
            let answer = try await api.registerCommands(SlashCommand.tally, guild: Self.guild.rawValue)
            #expect(answer.status == 200)
            let registered = try #require(
                try JSONSerialization.jsonObject(with: Data(s.fake.registrations[0].utf8)) as? [[String: Any]])
            #expect(registered.map { $0["name"] as? String } == SlashCommand.tally.map(\.name))
        }
    }

    @Test func aResentMessageWithTheSameNonceIsPostedOnce() async throws {
        try await withService { s in
            let api = DiscordAPI(configuration: s.fake.configuration(base: s.fakeBase), client: s.client)
            let first = try await api.createMessage(channel: 42, content: "hello", nonce: "t1-1")
            let again = try await api.createMessage(channel: 42, content: "hello", nonce: "t1-1")
            #expect(first.status == 200 && again.status == 200)
            #expect(first.body == again.body)
            #expect(s.fake.messages(in: 42) == ["hello"])
            // A wrong token is a 401 the sender stops on.
            var wrong = s.fake.configuration(base: s.fakeBase)
            wrong.botToken = "nope"
            let refused = try await DiscordAPI(configuration: wrong, client: s.client).createMessage(
                channel: 42, content: "x", nonce: "t1-2")
            #expect(refused.status == 401)
        }
    }

    @Test func aRemovalNeverOvertakesARetriedGrant() async throws {
        try await withService { s in
            let user = UserID(90_000_000_000_000_600)
            let role = RoleID(70_000_000_000_000_600)
            try await s.handle(
                .requestLink(user, expiresAt: Timestamp(milliseconds: Timestamp.now.rawValue + 600_000)), key: "r")
            try await s.handle(.confirmLink(user, KickUserID(6), kickUsername: "six"), key: "c")
            try await s.handle(.setSetting(.roleRemovalEnabled, 1), key: "removal")
            // The grant fails twice and is retried with backoff; the removal right behind it must wait.
            s.fake.inject(.status(503, code: 0), on: "roles", count: 2)
            try await s.handle(
                .setRoleThreshold(RoleThreshold(role: role, name: "T", minutes: 0, position: 1)), key: "t")
            try await s.handle(.removeRoleThreshold(role), key: "x")
            try await s.eventually("both delivered") { try await s.state()?.deliveries.isEmpty == true }
            let calls = s.fake.calls.filter { $0.path.contains("/roles/") }.map { "\($0.method) \($0.status)" }
            #expect(calls == ["PUT 503", "PUT 503", "PUT 204", "DELETE 204"])
            #expect(s.fake.roles(guild: Self.guild.rawValue, user: user.rawValue).isEmpty)
        }
    }
}
