import Domain
import EventLog
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import Shard

/// `POST /v1/guilds/{guild}/commands/batch` through the real router: one result per command, bad
/// commands answered alone, one append for the accepted ones.
@Suite(.timeLimit(.minutes(2))) struct BatchAPITests {
    typealias API = ShardAPITests
    static let guild = GuildID(5_033_164_800_000_000_000)
    static let bob = "1100000000000000002"

    static func postBatch(_ client: some TestClientProtocol, _ commands: [Any], headers: HTTPFields = API.auth)
        async throws -> TestResponse
    {
        try await client.execute(
            uri: "/v1/guilds/\(API.g1)/commands/batch", method: .post, headers: headers,
            body: API.json(["commands": commands]))
    }

    static func results(_ response: TestResponse) -> [[String: Any]] {
        API.decode(response)["results"] as? [[String: Any]] ?? []
    }

    static func code(_ result: [String: Any]) -> String? { (result["error"] as? [String: Any])?["code"] as? String }

    static func adjust(_ key: String, _ person: String = API.alice, delta: Int = 10) -> [String: Any] {
        ["type": "adjust_points", "key": key, "person": person, "delta": delta, "reason": key]
    }

    @Test func eachCommandGetsItsOwnResultAndBadOnesHarmNoneOfTheOthers() async throws {
        let f = try API.Fixture()
        try await f.app.test(.router) { client in
            let commands: [Any] = [
                Self.adjust("a1"),
                ["type": "adjust_points", "key": "a2", "person": API.alice, "reason": "no delta"],
                ["type": "adjust_points", "key": "a3", "person": API.alice, "delta": "ten", "reason": "x"],
                Self.adjust(""),
                ["type": "spend_points", "key": "a4", "person": Self.bob, "amount": 5, "reason": "too poor"],
                ["type": "open_raffle_period", "key": "a5"],
                ["type": "no_such_command", "key": "a6"],
                Self.adjust("a7", Self.bob, delta: 3),
                Self.adjust("a1", delta: 999),
                ["type": "spend_points", "key": "a8", "person": Self.bob, "amount": 2, "reason": "affordable now"],
            ]
            let response = try await Self.postBatch(client, commands)
            #expect(response.status == .ok)
            let results = Self.results(response)
            #expect(results.count == commands.count)
            guard results.count == commands.count else { return }
            let statuses = results.map { $0["status"] as? Int }
            #expect(statuses == [200, 400, 400, 400, 409, 400, 400, 200, 200, 200])
            #expect(Self.code(results[1]) == "missing_field")
            #expect(Self.code(results[2]) == "malformed_json")
            #expect(Self.code(results[3]) == "invalid_key")
            #expect(Self.code(results[4]) == "insufficient_points")
            #expect(Self.code(results[5]) == "not_batchable")
            #expect(Self.code(results[6]) == "unknown_command")
            // The repeated key is answered with the first occurrence's events, and appends nothing.
            #expect(results[8]["duplicate"] as? Bool == true)
            let first = results[0]["events"] as? [[String: Any]]
            #expect(first?.count == 1 && first?[0]["offset"] as? Int == 0)
            #expect((results[8]["events"] as? [[String: Any]])?.first?["offset"] as? Int == 0)
            // Later commands see the state earlier accepted ones left: bob could spend after a7.
            let offsets = [0, 7, 9].compactMap { (results[$0]["events"] as? [[String: Any]])?.first?["offset"] as? Int }
            #expect(offsets == [0, 1, 2])
            let alice = try await client.execute(uri: "/v1/guilds/\(API.g1)/people/\(API.alice)", method: .get)
            #expect(API.decode(alice)["points"] as? Int == 10)
            let bob = try await client.execute(uri: "/v1/guilds/\(API.g1)/people/\(Self.bob)", method: .get)
            #expect(API.decode(bob)["points"] as? Int == 1)
        }
        // One append: the three accepted commands' events share one batch (one fsync).
        let log = try #require(try await f.node.owner(for: Self.guild).fileLog)
        #expect(log.endOffset == Offset(3))
        #expect(log.statistics.batches == 1)
    }

    @Test func aRepeatedBatchIsAllDuplicatesAndAppendsNothing() async throws {
        let f = try API.Fixture()
        try await f.app.test(.router) { client in
            let commands: [Any] = (0..<50).map { Self.adjust("k\($0)", delta: 1) }
            let once = Self.results(try await Self.postBatch(client, commands))
            #expect(
                once.count == 50 && once.allSatisfy { $0["status"] as? Int == 200 && $0["duplicate"] as? Bool == false }
            )
            let again = Self.results(try await Self.postBatch(client, commands))
            #expect(again.count == 50 && again.allSatisfy { $0["duplicate"] as? Bool == true })
            for (a, b) in zip(once, again) {
                let offset = { (r: [String: Any]) in (r["events"] as? [[String: Any]])?.first?["offset"] as? Int }
                #expect(offset(a) != nil && offset(a) == offset(b))
            }
            let alice = try await client.execute(uri: "/v1/guilds/\(API.g1)/people/\(API.alice)", method: .get)
            #expect(API.decode(alice)["points"] as? Int == 50)
        }
        #expect(try await f.node.owner(for: Self.guild).endOffset == Offset(50))
    }

    @Test func aBatchOverTheLimitEmptyOrUnreadableIsRefusedWhole() async throws {
        let f = try API.Fixture()
        try await f.app.test(.router) { client in
            let tooMany = try await Self.postBatch(client, (0...1000).map { Self.adjust("t\($0)") })
            #expect(tooMany.status == .badRequest)
            #expect(Self.code(API.decode(tooMany)) == "batch_too_large")
            let empty = try await Self.postBatch(client, [])
            #expect(empty.status == .badRequest && Self.code(API.decode(empty)) == "batch_too_large")
            let notJSON = try await client.execute(
                uri: "/v1/guilds/\(API.g1)/commands/batch", method: .post, headers: API.auth,
                body: ByteBuffer(string: "[{"))
            #expect(notJSON.status == .badRequest && Self.code(API.decode(notJSON)) == "malformed_json")
            let unauthorized = try await Self.postBatch(client, [Self.adjust("u1")], headers: [:])
            #expect(unauthorized.status == .unauthorized)
            // Exactly the limit is taken.
            let full = try await Self.postBatch(client, (0..<1000).map { Self.adjust("f\($0)", delta: 1) })
            #expect(full.status == .ok && Self.results(full).count == 1000)
        }
        let log = try #require(try await f.node.owner(for: Self.guild).fileLog)
        #expect(log.endOffset == Offset(1000))
        #expect(log.statistics.batches == 1)
    }
}
