import Domain
import EventLog
import Foundation
import Hummingbird
import HummingbirdTesting
import Partition
import Testing

@testable import Shard

/// Issue 10: anyone can check a draw without Tally — the published period and the stand-alone script.
@Suite(.timeLimit(.minutes(2))) struct RaffleAPITests {
    typealias API = ShardAPITests

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs/verify_raffle.py").path

    static func get(_ client: some TestClientProtocol, _ path: String) async throws -> TestResponse {
        try await client.execute(uri: "/v1/guilds/\(API.g1)/\(path)", method: .get, headers: API.auth)
    }

    /// Runs `docs/verify_raffle.py` on `json` and returns its exit status and output.
    static func verify(_ json: Data, beacon: String? = nil) throws -> (Int32, String) {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("period-\(UUID().uuidString).json")
        try json.write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script, file.path] + (beacon.map { ["--beacon", $0] } ?? [])
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    static func edited(_ json: Data, _ change: (inout [String: Any]) -> Void) throws -> Data {
        var object = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        change(&object)
        return try JSONSerialization.data(withJSONObject: object)
    }

    @Test func aPublishedPeriodVerifiesWithTheScriptAndAForgedOneDoesNot() async throws {
        let f = try API.Fixture()
        let beacon = String(repeating: "3c", count: 32)
        try await f.app.test(.router) { client in
            try await API.post(client, ["type": "open_raffle_period", "key": "o"])
            for (i, person) in [API.alice, "1100000000000000002", "kick:77", "kick:78"].enumerated() {
                let r = try await API.post(
                    client,
                    ["type": "grant_tickets", "key": "g\(i)", "person": person, "amount": 10 * (i + 1), "reason": "r"])
                #expect(r.status == .ok)
            }
            let early = try await API.post(client, ["type": "draw_raffle", "key": "d0"])
            #expect(early.status == .conflict)
            #expect((API.decode(early)["error"] as? [String: Any])?["code"] as? String == "period_not_closed")
            let open = API.decode(try await Self.get(client, "raffle/periods/1"))
            #expect(open["closed"] as? Bool == false && open["table"] is NSNull && open["server_seed"] is NSNull)
            #expect(try await API.post(client, ["type": "close_raffle_period", "key": "c"]).status == .ok)
            let closed = API.decode(try await Self.get(client, "raffle/periods/1"))
            let round = try #require((closed["beacon"] as? [String: Any])?["round"] as? Int)
            #expect((closed["table"] as? [[String: Any]])?.count == 4)
            let noBeacon = try await API.post(client, ["type": "draw_raffle", "key": "d1"])
            #expect((API.decode(noBeacon)["error"] as? [String: Any])?["code"] as? String == "no_beacon")
            // The round is out: record it (as the service or an operator would), then draw and reroll.
            f.clock.ms = try #require(DrandChain.mainnet.time(of: UInt64(round))).rawValue
            let badHex = try await API.post(
                client, ["type": "record_beacon", "key": "b0", "round": round, "randomness": "zz"])
            #expect(badHex.status == .badRequest)
            #expect(
                try await API.post(
                    client, ["type": "record_beacon", "key": "b", "round": round, "randomness": beacon]
                ).status == .ok)
            #expect(try await API.post(client, ["type": "draw_raffle", "key": "d2", "winners": 2]).status == .ok)
            let reroll = try await API.post(
                client, ["type": "reroll_raffle", "key": "r", "replaces": 1, "reason": "no answer"])
            #expect(reroll.status == .ok)
            let response = try await Self.get(client, "raffle/periods/1")
            #expect(response.status == .ok)
            let json = Data(buffer: response.body)
            let published = API.decode(response)
            #expect((published["draws"] as? [[String: Any]])?.map { $0["number"] as? Int } == [1, 2, 3])
            #expect((published["draws"] as? [[String: Any]])?.last?["replaces"] as? Int == 1)
            let rerolled = API.decode(try await Self.get(client, "raffle/draws/1:3"))
            #expect(rerolled["verified"] as? Bool == true && rerolled["replaces"] as? Int == 1)
            #expect(rerolled["beacon"] as? String == beacon && rerolled["reason"] as? String == "no answer")

            var (status, output) = try Self.verify(json)
            #expect(status == 0, "\(output)")
            #expect(output.contains("VERIFIED") && !output.contains("FAIL"))
            (status, output) = try Self.verify(json, beacon: beacon)
            #expect(status == 0, "\(output)")

            // Forgeries: another winner, a table with more tickets, another beacon.
            let forgedWinner = try Self.edited(json) { object in
                var draws = object["draws"] as! [[String: Any]]
                draws[0]["winner"] = draws[0]["winner"] as? String == "kick:78" ? "kick:77" : "kick:78"
                object["draws"] = draws
            }
            (status, output) = try Self.verify(forgedWinner)
            #expect(status == 1 && output.contains("NOT VERIFIED"), "\(output)")
            let forgedTable = try Self.edited(json) { object in
                var table = object["table"] as! [[String: Any]]
                table[0]["admin"] = 1000
                object["table"] = table
            }
            (status, output) = try Self.verify(forgedTable)
            #expect(status == 1, "\(output)")
            (status, output) = try Self.verify(json, beacon: String(repeating: "3d", count: 32))
            #expect(status == 1, "\(output)")

            let missing = try await Self.get(client, "raffle/periods/9")
            #expect(missing.status == .notFound)
            let bad = try await Self.get(client, "raffle/periods/zero")
            #expect(bad.status == .badRequest)
        }
    }

    @Test func settingsShowTheLiveStateAndItsSource() async throws {
        let f = try API.Fixture()
        try await f.app.test(.router) { client in
            try await API.post(
                client, ["type": "adjust_points", "key": "a", "person": API.alice, "delta": 1, "reason": "r"])
            var live = API.decode(try await Self.get(client, "settings"))["live"] as? [String: Any]
            #expect(live?["live"] as? Bool == false && live?["source"] as? String == "unknown_assumed_offline")
            let put = try await client.execute(
                uri: "/v1/guilds/\(API.g1)/settings", method: .put, headers: API.auth,
                body: API.json(["key": "s", "settings": ["live_when_unknown": 1]]))
            live = API.decode(put)["live"] as? [String: Any]
            #expect(live?["live"] as? Bool == true && live?["source"] as? String == "unknown_assumed_live")
            try await API.post(client, ["type": "set_stream_status", "key": "st", "live": false, "at": 1])
            live = API.decode(try await Self.get(client, "settings"))["live"] as? [String: Any]
            #expect(live?["live"] as? Bool == false && live?["source"] as? String == "reported")
        }
    }

    @Test func clientKeysInTheInternalNamespaceAreRefused() async throws {
        let f = try API.Fixture()
        try await f.app.test(.router) { client in
            let r = try await API.post(
                client,
                ["type": "adjust_points", "key": "internal:tick:1", "person": API.alice, "delta": 5, "reason": "r"])
            #expect(r.status == .badRequest)
            #expect((API.decode(r)["error"] as? [String: Any])?["code"] as? String == "invalid_key")
        }
    }

    @Test func theAuditSaysWhoMadeEachChangeAndCancellationsNeedAReason() async throws {
        let f = try API.Fixture()
        try await f.app.test(.router) { client in
            try await API.post(
                client, ["type": "adjust_points", "key": "a", "person": API.alice, "delta": 100, "reason": "r"])
            try await API.post(client, ["type": "create_shop_item", "key": "i", "name": "Song", "price": 10])
            try await API.post(client, ["type": "purchase", "key": "p", "item_id": 1, "person": API.alice])
            let noReason = try await API.post(client, ["type": "cancel_order", "key": "c0", "order_id": 1])
            #expect(noReason.status == .badRequest)
            let empty = try await API.post(client, ["type": "cancel_order", "key": "c1", "order_id": 1, "reason": ""])
            #expect((API.decode(empty)["error"] as? [String: Any])?["code"] as? String == "invalid_text")
            #expect(
                try await API.post(client, ["type": "cancel_order", "key": "c2", "order_id": 1, "reason": "sold out"])
                    .status == .ok)
            let audit = API.decode(try await Self.get(client, "audit?user=\(API.alice)"))
            let entries = audit["entries"] as? [[String: Any]] ?? []
            #expect(entries.map { $0["event"] as? String } == ["points_adjusted", "item_purchased", "order_cancelled"])
            #expect(entries.allSatisfy { $0["actor"] as? String == "operator" })
        }
    }

    /// The stand-alone script and Tally agree on random periods: Discord users and chatters, every
    /// ticket source, exclusions, several winners and a reroll (seeded; the seed is in the message).
    @Test(arguments: [UInt64(1), 2, 3, 4, 5, 6])
    func theScriptAgreesWithTallyOnRandomPeriods(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        var processor = CommandProcessor()
        let guild = GuildID(5_033_164_800_000_000_000 + seed)
        let serverSeed = Array(repeating: UInt8(seed), count: 32)
        var clock: Int64 = 1_796_083_200_000
        var n = 0
        func run(_ command: Command) -> Decision {
            n += 1
            clock += 1000
            return processor.process(
                command, guild: guild, context: CommandContext(key: "k\(n)", time: Timestamp(milliseconds: clock))
            ).decision
        }
        _ = run(
            .openRafflePeriod(
                startsAt: Timestamp(milliseconds: clock), endsAt: Timestamp(milliseconds: clock + 3_600_000),
                seedCommitment: RaffleDrawing.commitment(for: serverSeed)))
        for _ in 0..<(2 + rng.next() % 40) {
            let id = 1 + rng.next() % 1_000_000_000
            let person: PersonID = rng.next() % 2 == 0 ? .discord(UserID(id)) : .kick(KickUserID(id))
            _ = run(.grantTickets(person, amount: Int64(1 + rng.next() % 500), reason: "r"))
            if rng.next() % 3 == 0 {
                _ = run(
                    .recordGiftedSubs(
                        gifter: KickUserID(id), username: "g", count: Int64(1 + rng.next() % 3)))
            }
            if rng.next() % 6 == 0 { _ = run(.setRaffleExclusion(person, excluded: true)) }
        }
        _ = run(.closeRafflePeriod(seed: serverSeed))
        let round = try #require(processor.model.state(of: guild)?.raffle.periods[PeriodID(1)]?.beaconRound)
        clock = try #require(DrandChain.mainnet.time(of: round)).rawValue
        let beacon = (0..<32).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        _ = run(.recordBeacon(period: nil, round: round, value: beacon))
        _ = run(.drawRaffle(seed: nil, winners: 1 + Int(rng.next() % 3)))
        _ = run(.rerollRaffle(period: nil, replaces: 1, reason: "unreachable"))
        let state = try #require(processor.model.state(of: guild))
        #expect((state.raffle.history[PeriodID(1)] ?? []).count >= 2, "seed \(seed): draws were made")
        let json = try JSONEncoder().encode(try #require(RafflePeriodResponse(state: state, period: PeriodID(1))))
        let (status, output) = try Self.verify(json)
        #expect(status == 0, "seed \(seed): \(output)")
    }
}
