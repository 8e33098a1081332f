import Domain
import EventLog
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import TallyTesting
import Testing

@testable import Shard

/// Every endpoint and every class of bad input, through the real router.
@Suite(.timeLimit(.minutes(2))) struct ShardAPITests {
    static let token = "test-operator-token"
    static let g1 = "5033164800000000000"
    static let g2 = "5033164833214693377"
    static let alice = "1100000000000000001"

    final class Fixture: @unchecked Sendable {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
            "tally-api-\(UUID().uuidString.prefix(8))"
        ).path
        let node: ShardNode
        let app: Application<RouterResponder<BasicRequestContext>>
        let clock = Clock()

        final class Clock: @unchecked Sendable {
            var ms: Int64 = 1_796_083_200_000
        }

        init() throws {
            let logger = testLogger
            let data = try DataDirectory.open(path: dir, creatingWith: 4)
            var configuration = ShardNode.Configuration(data: data)
            configuration.raffleSecret = Array("secret".utf8)
            node = ShardNode(configuration: configuration, logger: logger)
            let clock = self.clock
            var api = ShardAPI(
                node: node, operatorToken: ShardAPITests.token,
                now: {
                    clock.ms += 1000; return Timestamp(milliseconds: clock.ms)
                })
            api.metricsText = { "# TYPE tally_test counter\ntally_test 1\n" }
            app = Application(router: api.router(), logger: logger)
        }

        deinit { try? FileManager.default.removeItem(atPath: dir) }
    }

    static func json(_ object: [String: Any]) -> ByteBuffer {
        ByteBuffer(bytes: try! JSONSerialization.data(withJSONObject: object))
    }

    static func decode(_ response: TestResponse) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]) ?? [:]
    }

    static let auth: HTTPFields = [.authorization: "Bearer \(token)"]

    @discardableResult
    static func post(_ client: some TestClientProtocol, guild: String = g1, _ body: [String: Any]) async throws
        -> TestResponse
    {
        try await client.execute(uri: "/v1/guilds/\(guild)/commands", method: .post, headers: auth, body: json(body))
    }

    @Test func commandsNeedTheOperatorToken() async throws {
        let f = try Fixture()
        try await f.app.test(.router) { client in
            let body = Self.json(["type": "tick", "key": "k"])
            let none = try await client.execute(uri: "/v1/guilds/\(Self.g1)/commands", method: .post, body: body)
            #expect(none.status == .unauthorized)
            #expect((Self.decode(none)["error"] as? [String: Any])?["code"] as? String == "unauthorized")
            let wrong = try await client.execute(
                uri: "/v1/guilds/\(Self.g1)/commands", method: .post, headers: [.authorization: "Bearer nope"],
                body: body)
            #expect(wrong.status == .unauthorized)
        }
        #expect(try await f.node.owner(for: GuildID(5_033_164_800_000_000_000)).endOffset == .zero)
    }

    @Test func theBearerSchemeIsCaseInsensitiveAndTokensCompareExactly() async throws {
        #expect(Authorizer.bearer("bearer \(Self.token)", matches: Self.token))
        #expect(Authorizer.bearer("BEARER \(Self.token)", matches: Self.token))
        #expect(!Authorizer.bearer("Bearer \(Self.token)x", matches: Self.token))
        #expect(!Authorizer.bearer("Bearer " + String(Self.token.dropLast()), matches: Self.token))
        #expect(!Authorizer.bearer("Basic \(Self.token)", matches: Self.token))
        #expect(!Authorizer.bearer("Bearer ", matches: ""))
        let f = try Fixture()
        try await f.app.test(.router) { client in
            let lower = try await client.execute(
                uri: "/v1/guilds/\(Self.g1)/commands", method: .post, headers: [.authorization: "bearer \(Self.token)"],
                body: Self.json([
                    "type": "adjust_points", "key": "k1", "person": "kick:4242001", "delta": 5, "reason": "r",
                ]))
            #expect(lower.status == .ok)
            // A percent-encoded person in the path is the same person.
            let person = try await client.execute(uri: "/v1/guilds/\(Self.g1)/people/kick%3A4242001", method: .get)
            #expect(person.status == .ok && Self.decode(person)["points"] as? Int == 5)
        }
    }

    @Test func undeclaredMethodsAre405WithAllow() async throws {
        let f = try Fixture()
        try await f.app.test(.router) { client in
            let delete = try await client.execute(uri: "/v1/guilds/\(Self.g1)/settings", method: .delete)
            #expect(delete.status == .methodNotAllowed && delete.headers[.allow] == "GET, PUT")
            #expect((Self.decode(delete)["error"] as? [String: Any])?["code"] as? String == "method_not_allowed")
            let get = try await client.execute(uri: "/v1/guilds/\(Self.g1)/commands", method: .get)
            #expect(get.status == .methodNotAllowed && get.headers[.allow] == "POST")
            #expect(try await client.execute(uri: "/nowhere", method: .get).status == .notFound)
        }
    }

    @Test func anAcceptedCommandReturnsItsEventsAndARepeatedKeyIsADuplicate() async throws {
        let f = try Fixture()
        try await f.app.test(.router) { client in
            let command: [String: Any] = [
                "type": "adjust_points", "key": "interaction-1", "person": Self.alice, "delta": 50, "reason": "hi",
            ]
            let first = try await Self.post(client, command)
            #expect(first.status == .ok)
            let body = Self.decode(first)
            #expect(body["duplicate"] as? Bool == false)
            let events = body["events"] as? [[String: Any]] ?? []
            #expect(events.count == 1 && events[0]["type"] as? String == "points_adjusted")
            let again = try await Self.post(client, command)
            #expect(Self.decode(again)["duplicate"] as? Bool == true)
            let person = try await client.execute(uri: "/v1/guilds/\(Self.g1)/people/\(Self.alice)", method: .get)
            #expect(Self.decode(person)["points"] as? Int == 50, "the repeat applied nothing")
        }
    }

    @Test(arguments: [
        ("malformed JSON", "{not json", HTTPResponse.Status.badRequest, "malformed_json"),
        ("unknown command type", #"{"type":"teleport","key":"k"}"#, .badRequest, "unknown_command"),
        (
            "missing field", #"{"type":"adjust_points","key":"k","person":"1100000000000000001","reason":"r"}"#,
            .badRequest, "missing_field"
        ),
        ("missing key", #"{"type":"tick"}"#, .badRequest, "malformed_json"),
        (
            "person not a snowflake", #"{"type":"adjust_points","key":"k","person":"bob","delta":5,"reason":"r"}"#,
            .badRequest, "invalid_person"
        ),
        (
            "negative amount",
            #"{"type":"spend_points","key":"k","person":"1100000000000000001","amount":-5,"reason":"r"}"#, .badRequest,
            "invalid_amount"
        ),
        (
            "overflowing amount",
            #"{"type":"adjust_points","key":"k","person":"1100000000000000001","delta":99999999999999999999999,"reason":"r"}"#,
            .badRequest, "malformed_json"
        ),
        (
            "amount of the wrong type",
            #"{"type":"adjust_points","key":"k","person":"1100000000000000001","delta":"5","reason":"r"}"#, .badRequest,
            "malformed_json"
        ),
        (
            "a rule refuses",
            #"{"type":"spend_points","key":"k","person":"1100000000000000001","amount":5,"reason":"r"}"#, .conflict,
            "insufficient_points"
        ),
    ])
    func badInputGetsTheRight4xxAndChangesNothing(name: String, body: String, status: HTTPResponse.Status, code: String)
        async throws
    {
        let f = try Fixture()
        try await f.app.test(.router) { client in
            let response = try await client.execute(
                uri: "/v1/guilds/\(Self.g1)/commands", method: .post, headers: Self.auth, body: ByteBuffer(string: body)
            )
            #expect(response.status == status, "\(name)")
            #expect((Self.decode(response)["error"] as? [String: Any])?["code"] as? String == code, "\(name)")
        }
        #expect(
            try await f.node.owner(for: GuildID(5_033_164_800_000_000_000)).endOffset == .zero,
            "\(name) changed something")
    }

    @Test func oversizedBodiesAndBadGuildIdsAreRefused() async throws {
        let f = try Fixture()
        try await f.app.test(.router) { client in
            let big = ByteBuffer(repeating: UInt8(ascii: "a"), count: 70_000)
            let tooBig = try await client.execute(
                uri: "/v1/guilds/\(Self.g1)/commands", method: .post, headers: Self.auth, body: big)
            #expect(tooBig.status == .contentTooLarge)
            for guild in ["abc", "-5", "0", "0123", "12345678901234567890", "99999999999999999999999"] {
                let r = try await client.execute(uri: "/v1/guilds/\(guild)/leaderboards/points", method: .get)
                #expect(r.status == .badRequest, "guild \(guild)")
            }
            let unknownBoard = try await client.execute(uri: "/v1/guilds/\(Self.g1)/leaderboards/karma", method: .get)
            #expect(unknownBoard.status == .notFound || unknownBoard.status == .badRequest)
        }
    }

    @Test func queriesForUnknownGuildsAre404() async throws {
        let f = try Fixture()
        try await f.app.test(.router) { client in
            for path in [
                "leaderboards/points", "people/\(Self.alice)", "raffle", "raffle/draws/1:1", "audit", "settings",
            ] {
                let r = try await client.execute(uri: "/v1/guilds/\(Self.g2)/\(path)", method: .get, headers: Self.auth)
                #expect(r.status == .notFound, "\(path)")
                #expect((Self.decode(r)["error"] as? [String: Any])?["code"] as? String == "unknown_guild", "\(path)")
            }
        }
    }

    @Test func everyQueryEndpointAnswersFromTheReadModels() async throws {
        let f = try Fixture()
        try await f.app.test(.router) { client in
            #expect(try await client.execute(uri: "/health", method: .get).status == .ok)
            let metrics = try await client.execute(uri: "/metrics", method: .get)
            #expect(metrics.status == .ok && String(buffer: metrics.body).contains("tally_test 1"))
            try await Self.post(
                client, ["type": "adjust_points", "key": "a", "person": Self.alice, "delta": 70, "reason": "r"])
            try await Self.post(client, ["type": "open_raffle_period", "key": "o"])
            try await Self.post(
                client, ["type": "grant_tickets", "key": "t1", "person": Self.alice, "amount": 30, "reason": "r"])
            try await Self.post(
                client, ["type": "grant_tickets", "key": "t2", "person": "kick:77", "amount": 10, "reason": "r"])
            // Draws are of closed periods whose drand round is recorded (issue 10).
            try await Self.post(client, ["type": "close_raffle_period", "key": "c"])
            let guild = GuildID(5_033_164_800_000_000_000)
            let state = try await f.node.owner(for: guild).state(of: guild)
            let round = try #require(state?.raffle.periods[PeriodID(1)]?.beaconRound)
            f.clock.ms = try #require(DrandChain.mainnet.time(of: round)).rawValue
            try await Self.post(
                client,
                ["type": "record_beacon", "key": "b", "round": round, "randomness": String(repeating: "ab", count: 32)])
            let draw = try await Self.post(client, ["type": "draw_raffle", "key": "d"])
            #expect(draw.status == .ok)

            let board = Self.decode(
                try await client.execute(uri: "/v1/guilds/\(Self.g1)/leaderboards/tickets?limit=5", method: .get))
            #expect((board["entries"] as? [[String: Any]])?.map { $0["value"] as? Int } == [30, 10])
            let tooMany = try await client.execute(
                uri: "/v1/guilds/\(Self.g1)/leaderboards/points?limit=26", method: .get)
            #expect(tooMany.status == .badRequest)
            let person = Self.decode(
                try await client.execute(uri: "/v1/guilds/\(Self.g1)/people/discord:\(Self.alice)", method: .get))
            #expect(person["points"] as? Int == 70)
            #expect(person["win_chance"] as? Double == 0.75)
            let raffle = Self.decode(try await client.execute(uri: "/v1/guilds/\(Self.g1)/raffle", method: .get))
            #expect((raffle["draws"] as? [[String: Any]])?.count == 1)
            let verified = Self.decode(
                try await client.execute(uri: "/v1/guilds/\(Self.g1)/raffle/draws/1:1", method: .get))
            #expect(verified["verified"] as? Bool == true)
            let audit = Self.decode(
                try await client.execute(
                    uri: "/v1/guilds/\(Self.g1)/audit?user=\(Self.alice)&limit=10", method: .get, headers: Self.auth))
            #expect(
                (audit["entries"] as? [[String: Any]])?.map { $0["event"] as? String } == [
                    "points_adjusted", "tickets_granted",
                ])
            let settings = Self.decode(try await client.execute(uri: "/v1/guilds/\(Self.g1)/settings", method: .get))
            #expect((settings["settings"] as? [String: Any])?["points_per_5min"] as? Int == 1)
        }
    }

    @Test func settingsAreReadAndChangedPerGuild() async throws {
        let f = try Fixture()
        try await f.app.test(.router) { client in
            try await Self.post(client, ["type": "tick", "key": "first"])
            try await Self.post(
                client, guild: Self.g2,
                ["type": "adjust_points", "key": "x", "person": Self.alice, "delta": 1, "reason": "r"])
            let put = { (body: [String: Any], auth: HTTPFields) in
                try await client.execute(
                    uri: "/v1/guilds/\(Self.g1)/settings", method: .put, headers: auth, body: Self.json(body))
            }
            #expect(try await put(["key": "s1", "settings": ["points_per_5min": 3]], [:]).status == .unauthorized)
            #expect(try await put(["key": "s1", "settings": ["nonsense": 3]], Self.auth).status == .badRequest)
            #expect(try await put(["key": "s1", "settings": ["points_per_5min": -3]], Self.auth).status == .badRequest)
            #expect(
                try await put(["key": "s1", "settings": ["points_per_5min": "3"]], Self.auth).status == .badRequest)
            let ok = try await put(
                ["key": "s1", "settings": ["points_per_5min": 3, "leaderboard_default": 5]], Self.auth)
            #expect(ok.status == .ok)
            let values = Self.decode(ok)["settings"] as? [String: Any]
            #expect(values?["points_per_5min"] as? Int == 3 && values?["leaderboard_default"] as? Int == 5)
            let other = Self.decode(try await client.execute(uri: "/v1/guilds/\(Self.g2)/settings", method: .get))
            #expect(
                (other["settings"] as? [String: Any])?["points_per_5min"] as? Int == 1,
                "another guild's settings leaked")
            let cleared = Self.decode(
                try await put(["key": "s2", "settings": ["points_per_5min": NSNull()]], Self.auth))
            #expect((cleared["settings"] as? [String: Any])?["points_per_5min"] as? Int == 1)
        }
    }

    /// Issue 9: a 180-byte key applied the settings whose derived key fit, then answered 400; now a
    /// key over 170 bytes is refused before anything is applied.
    @Test func settingsAreCheckedBeforeAnyIsApplied() async throws {
        let f = try Fixture()
        try await f.app.test(.router) { client in
            let key = String(repeating: "k", count: 180)
            let response = try await client.execute(
                uri: "/v1/guilds/\(Self.g1)/settings", method: .put, headers: Self.auth,
                body: Self.json(["key": key, "settings": ["leaderboard_default": 7, "subscriber_points_per_5min": 9]]))
            #expect(response.status == .badRequest)
            #expect((Self.decode(response)["error"] as? [String: Any])?["code"] as? String == "invalid_key")
            let now = Self.decode(try await client.execute(uri: "/v1/guilds/\(Self.g1)/settings", method: .get))
            #expect(
                (now["settings"] as? [String: Any])?["leaderboard_default"] as? Int != 7, "a setting was half-applied")
        }
    }

    @Test func twoGuildsNeverSeeEachOthersData() async throws {
        let f = try Fixture()
        try await f.app.test(.router) { client in
            try await Self.post(
                client, guild: Self.g1,
                ["type": "adjust_points", "key": "same-key", "person": Self.alice, "delta": 5, "reason": "r"])
            try await Self.post(
                client, guild: Self.g2,
                ["type": "adjust_points", "key": "same-key", "person": Self.alice, "delta": 7, "reason": "r"])
            let p1 = Self.decode(
                try await client.execute(uri: "/v1/guilds/\(Self.g1)/people/\(Self.alice)", method: .get))
            let p2 = Self.decode(
                try await client.execute(uri: "/v1/guilds/\(Self.g2)/people/\(Self.alice)", method: .get))
            #expect(p1["points"] as? Int == 5)
            #expect(p2["points"] as? Int == 7)
            let a1 = Self.decode(
                try await client.execute(uri: "/v1/guilds/\(Self.g1)/audit", method: .get, headers: Self.auth))
            #expect((a1["entries"] as? [[String: Any]])?.count == 1)
        }
    }

    /// What schemathesis found: a malformed command under a key seen before was answered as the first
    /// outcome (200, duplicate) instead of being refused.
    @Test func malformedCommandsAreRefusedEvenUnderAKeySeenBefore() async throws {
        let f = try Fixture()
        try await f.app.test(.router) { client in
            let first = try await Self.post(
                client, ["type": "adjust_points", "key": "k1", "person": Self.alice, "delta": 5, "reason": "r"])
            #expect(first.status == .ok)
            let bad = try await Self.post(
                client, ["type": "adjust_points", "key": "k1", "person": Self.alice, "delta": 0, "reason": "r"])
            #expect(bad.status == .badRequest)
            #expect((Self.decode(bad)["error"] as? [String: Any])?["code"] as? String == "invalid_amount")
            let null = try await Self.post(
                client,
                ["type": "request_link", "key": "k2", "user_id": Self.alice, "expires_at": NSNull()])
            #expect(null.status == .badRequest, "an explicit null was taken as a missing field")
        }
    }

    @Test func undeclaredMethodsAnswer405WithAllow() async throws {
        let f = try Fixture()
        try await f.app.test(.router) { client in
            for method in [HTTPRequest.Method.trace, .delete] {
                let response = try await client.execute(uri: "/v1/guilds/\(Self.g1)/settings", method: method)
                #expect(response.status == .methodNotAllowed)
                #expect(response.headers[.allow] == "GET, PUT")
            }
        }
    }

    @Test func aLeaderboardLimitAboveTheGuildsMaximumIsCapped() async throws {
        let f = try Fixture()
        try await f.app.test(.router) { client in
            for (i, person) in ["1100000000000000001", "1100000000000000002", "1100000000000000003"].enumerated() {
                try await Self.post(
                    client, ["type": "adjust_points", "key": "p\(i)", "person": person, "delta": 5 + i, "reason": "r"])
            }
            try await Self.post(
                client, ["type": "set_setting", "key": "max", "setting": "leaderboard_max", "value": 2])
            let capped = Self.decode(
                try await client.execute(uri: "/v1/guilds/\(Self.g1)/leaderboards/points?limit=25", method: .get))
            #expect((capped["entries"] as? [[String: Any]])?.count == 2)
            let over = try await client.execute(uri: "/v1/guilds/\(Self.g1)/leaderboards/points?limit=26", method: .get)
            #expect(over.status == .badRequest)
        }
    }

    /// Imported chatters without a Kick id are `kick_name:<lower-case name>` everywhere a person is.
    @Test func aProvisionalKickNameIsAPerson() async throws {
        let f = try Fixture()
        try await f.app.test(.router) { client in
            try await Self.post(
                client, ["type": "adjust_points", "key": "k", "person": Self.alice, "delta": 5, "reason": "r"])
            let unknown = try await client.execute(uri: "/v1/guilds/\(Self.g1)/people/kick_name:viewer_1", method: .get)
            #expect(unknown.status == .notFound)
            let bad = try await client.execute(uri: "/v1/guilds/\(Self.g1)/people/kick_name:Viewer", method: .get)
            #expect(bad.status == .badRequest)
        }
    }
}
