import Domain
import EventLog
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import TallyTesting
import Testing

@testable import Shard

/// Timers with an injected time: ticks and raffle period ends are ordinary commands.
@Suite(.timeLimit(.minutes(1))) struct TimerTests {
    static let guild = GuildID(5_033_164_800_000_000_000)
    static let secret = Array("timer-secret".utf8)

    func node() throws -> (ShardNode, String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
            "tally-timers-\(UUID().uuidString.prefix(8))"
        ).path
        var configuration = ShardNode.Configuration(data: try DataDirectory.open(path: dir, creatingWith: 2))
        configuration.raffleSecret = Self.secret
        return (ShardNode(configuration: configuration, logger: testLogger), dir)
    }

    func at(_ minute: Int64) -> Timestamp { Timestamp(milliseconds: 1_796_083_200_000 + minute * 60_000) }

    @Test func ticksCreditChattersOncePerIntervalOnlyWhileTracked() async throws {
        let (node, dir) = try node()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let g = Self.guild
        _ = try await node.handle(
            .setStreamStatus(live: true), guild: g, context: CommandContext(key: "live", time: at(0)))
        for (i, chatter) in [UInt64(1), 2].enumerated() {
            _ = try await node.handle(
                .recordChatActivity(KickUserID(chatter), username: "c\(chatter)"), guild: g,
                context: CommandContext(key: "m\(i)", time: at(0)))
        }
        var round = await node.fireTimers(now: at(1))
        #expect(round.ticked == 1)
        // The same interval again (a timer firing twice, or a restart): a duplicate, nothing credited.
        round = await node.fireTimers(now: Timestamp(milliseconds: at(1).rawValue + 30_000))
        #expect(round.ticked == 0)
        let owner = try await node.owner(for: g)
        #expect(await owner.state(of: g)?.person(.kick(KickUserID(1))).minutes == 1)
        // The audit says the timer credited the minute (issue 10: events carry the actor).
        let audit = try await node.history(for: g).audit(guild: g, person: .kick(KickUserID(1)))
        #expect(audit.map(\.actor) == ["timer"])
        // Forced off: no tick counts even with chatters.
        _ = try await node.handle(
            .overrideTracking(.forcedOff), guild: g, context: CommandContext(key: "off", time: at(2)))
        _ = try await node.handle(
            .recordChatActivity(KickUserID(1), username: "c1"), guild: g,
            context: CommandContext(key: "m3", time: at(2)))
        round = await node.fireTimers(now: at(2))
        #expect(round.ticked == 0)
        #expect(await owner.state(of: g)?.person(.kick(KickUserID(1))).minutes == 1)
        await node.shutdown()
    }

    @Test func endedPeriodsCloseWithTheirSeedAndRenewWhenEnabled() async throws {
        let (node, dir) = try node()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let g = Self.guild
        let seed1 = RaffleDrawing.seed(secret: Self.secret, guild: g, period: PeriodID(1))
        _ = try await node.handle(
            .setSetting(.raffleAutoRenew, 1), guild: g, context: CommandContext(key: "renew", time: at(0)))
        _ = try await node.handle(
            .openRafflePeriod(startsAt: at(0), endsAt: at(10), seedCommitment: RaffleDrawing.commitment(for: seed1)),
            guild: g, context: CommandContext(key: "open", time: at(0)))
        var round = await node.fireTimers(now: at(9))
        #expect(round.periodsClosed == 0)
        round = await node.fireTimers(now: at(10))
        #expect(round.periodsClosed == 1 && round.periodsOpened == 1)
        let state = try #require(await node.owner(for: g).state(of: g))
        #expect(state.raffle.revealedSeeds[PeriodID(1)] == seed1)
        #expect(state.raffle.current?.id == PeriodID(2))
        let seed2 = RaffleDrawing.seed(secret: Self.secret, guild: g, period: PeriodID(2))
        #expect(state.raffle.current?.seedCommitment == RaffleDrawing.commitment(for: seed2))
        await node.shutdown()
    }

    /// A beacon that answers every round with the same value once asked (tests inject it).
    struct FixedBeacon: RandomnessBeacon {
        var value: [UInt8]
        func randomness(round: UInt64) async throws -> [UInt8]? { value }
    }

    @Test func withAutoRenewTheEndedPeriodIsStillDrawnOnceItsBeaconIsOut() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
            "tally-timers-\(UUID().uuidString.prefix(8))"
        ).path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var configuration = ShardNode.Configuration(data: try DataDirectory.open(path: dir, creatingWith: 2))
        configuration.raffleSecret = Self.secret
        configuration.beacon = FixedBeacon(value: Array(repeating: 0x42, count: 32))
        let node = ShardNode(configuration: configuration, logger: testLogger)
        let g = Self.guild
        let seed1 = RaffleDrawing.seed(secret: Self.secret, guild: g, period: PeriodID(1))
        for (i, (key, value)) in [(SettingKey.raffleAutoRenew, Int64(1)), (.raffleAutoDraw, 2)].enumerated() {
            _ = try await node.handle(
                .setSetting(key, value), guild: g, context: CommandContext(key: "set\(i)", time: at(0)))
        }
        _ = try await node.handle(
            .openRafflePeriod(startsAt: at(0), endsAt: at(10), seedCommitment: RaffleDrawing.commitment(for: seed1)),
            guild: g, context: CommandContext(key: "open", time: at(0)))
        for (i, person) in [PersonID.discord(UserID(11)), .discord(UserID(12)), .kick(KickUserID(13))].enumerated() {
            _ = try await node.handle(
                .grantTickets(person, amount: Int64(5 + i), reason: "r"), guild: g,
                context: CommandContext(key: "g\(i)", time: at(1)))
        }
        // The period ends: closed and the next opened at once; tickets reset for period 2.
        var round = await node.fireTimers(now: at(10))
        #expect(round.periodsClosed == 1 && round.periodsOpened == 1)
        #expect(round.beaconsRecorded == 0 && round.periodsDrawn == 0, "the beacon round is not out yet")
        let owner = try await node.owner(for: g)
        #expect(await owner.state(of: g)?.person(.discord(UserID(11))).totalTickets == 0)
        let beaconRound = try #require(await owner.state(of: g)?.raffle.periods[PeriodID(1)]?.beaconRound)
        let out = try #require(DrandChain.mainnet.time(of: beaconRound))
        round = await node.fireTimers(now: out)
        #expect(round.beaconsRecorded == 1 && round.periodsDrawn == 1)
        let state = try #require(await owner.state(of: g))
        let draws = state.raffle.history[PeriodID(1)] ?? []
        #expect(draws.count == 2 && draws.allSatisfy { $0.totalTickets > 0 && $0.period == PeriodID(1) })
        #expect(state.raffle.current?.id == PeriodID(2))
        // Another round draws nothing more.
        round = await node.fireTimers(now: Timestamp(milliseconds: out.rawValue + 60_000))
        #expect(round.periodsDrawn == 0)
        await node.shutdown()
    }

    @Test func aClientKeySpelledLikeTheTimersDoesNotStopThePeriodClosing() async throws {
        let (node, dir) = try node()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let g = Self.guild
        let seed1 = RaffleDrawing.seed(secret: Self.secret, guild: g, period: PeriodID(1))
        _ = try await node.handle(
            .openRafflePeriod(startsAt: at(0), endsAt: at(10), seedCommitment: RaffleDrawing.commitment(for: seed1)),
            guild: g, context: CommandContext(key: "open", time: at(0)))
        _ = try await node.handle(
            .adjustPoints(.discord(UserID(5)), delta: 1, reason: "r"), guild: g,
            context: CommandContext(key: "period-end:\(g):1", time: at(1)))
        let round = await node.fireTimers(now: at(10))
        #expect(round.periodsClosed == 1)
        #expect(try await node.owner(for: g).state(of: g)?.raffle.current == nil)
        await node.shutdown()
    }

    /// The drand client against a fake relay on loopback (tests run offline): it reads the round's
    /// randomness, and answers nil for a round not yet published or a value that is not 32 bytes.
    @Test func theDrandClientReadsARoundFromTheRelay() async throws {
        let value = String(repeating: "9f", count: 32)
        let router = Router()
        router.get("/:chain/public/:round") { _, context -> Response in
            let chain = try context.parameters.require("chain")
            let round = try context.parameters.require("round")
            guard chain == DrandChain.mainnet.hash, round != "404" else { return Response(status: .notFound) }
            let randomness = round == "7" ? "abcd" : value
            let body = #"{"round":\#(round),"randomness":"\#(randomness)","signature":"00"}"#
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let beacon = DrandHTTPBeacon(relay: "http://127.0.0.1:\(port)")
            #expect(try await beacon.randomness(round: 6_689_847) == Array(repeating: 0x9F, count: 32))
            #expect(try await beacon.randomness(round: 404) == nil)
            #expect(try await beacon.randomness(round: 7) == nil)
        }
    }
}
