import EventLog
import Testing

@testable import Domain

/// Issue 10, the draw: a raffle no one can steer. Each test is one of the issue's scenarios.
@Suite struct RaffleFairnessTests {
    static let alice = UserID(1_100_000_000_000_000_001)
    static let bob = UserID(1_100_000_000_000_000_002)
    static let carol = UserID(1_100_000_000_000_000_003)

    /// Period 1 open until one hour from the harness start, with tickets for three people and a chatter.
    static func raffle() -> Harness {
        var h = Harness()
        h.accept(
            .openRafflePeriod(
                startsAt: h.now, endsAt: Timestamp(milliseconds: h.clock + 3_600_000),
                seedCommitment: Harness.commitment))
        h.accept(.grantTickets(.discord(alice), amount: 10, reason: "r"))
        h.accept(.grantTickets(.discord(bob), amount: 20, reason: "r"))
        h.accept(.grantTickets(.discord(carol), amount: 30, reason: "r"))
        h.accept(.grantTickets(.kick(KickUserID(9)), amount: 40, reason: "r"))
        return h
    }

    static func draws(_ events: [DomainEvent]) -> [RaffleDraw] {
        events.compactMap { if case .raffleWinnerDrawn(let d) = $0 { d } else { nil } }
    }

    // 1. Exclusions and links after the seed is public.
    @Test func exclusionsAndLinksAfterTheCloseDoNotMoveTheWinningTicket() throws {
        var h = Self.raffle()
        h.accept(.closeRafflePeriod(seed: Harness.seed))
        let frozen = try #require(h.state.raffle.tables[PeriodID(1)])
        #expect(
            frozen.entries.map(\.person) == [
                .discord(Self.alice), .discord(Self.bob), .discord(Self.carol), .kick(KickUserID(9)),
            ])
        // The seed is public now. The operator tries to move the winning ticket: an exclusion and a
        // link that moves kick:9's tickets to a Discord user (reordering the ranges).
        h.accept(.setRaffleExclusion(.discord(Self.carol), excluded: true))
        h.accept(.requestLink(UserID(1), expiresAt: Timestamp(milliseconds: h.clock + 600_000)))
        h.accept(.confirmLink(UserID(1), KickUserID(9), kickUsername: "nine"))
        #expect(h.state.raffle.tables[PeriodID(1)] == frozen, "the frozen table never changes")
        let round = h.state.raffle.periods[PeriodID(1)]!.beaconRound
        h.clock = DrandChain.mainnet.time(of: round)!.rawValue
        h.accept(.recordBeacon(period: PeriodID(1), round: round, value: Harness.beacon))
        let draw = try #require(Self.draws(h.accept(.drawRaffle(seed: nil, winners: 1))).first)
        let expected = try RaffleDrawing.draw(
            guild: h.guild, period: PeriodID(1), number: 1, serverSeed: Harness.seed,
            beacon: RaffleBeacon(round: round, value: Harness.beacon), table: frozen, earlierWinners: []
        ).get()
        #expect(draw == expected)
        #expect(draw.totalTickets == 100, "carol's late exclusion does not count")
        #expect(draw.participantsDigest == RaffleDrawing.digest(of: frozen))
        // The exclusion applies to the next period.
        h.accept(
            .openRafflePeriod(
                startsAt: h.now, endsAt: Timestamp(milliseconds: h.clock + 3_600_000),
                seedCommitment: Harness.commitment))
        h.accept(.grantTickets(.discord(Self.carol), amount: 5, reason: "r"))
        h.accept(.grantTickets(.discord(Self.alice), amount: 5, reason: "r"))
        h.accept(.closeRafflePeriod(seed: Harness.seed))
        #expect(
            h.state.raffle.tables[PeriodID(2)]?.entries.first { $0.person == .discord(Self.carol) }?.excluded == true)
    }

    @Test func theTableStopsChangingAtThePeriodsEndEvenBeforeItsClose() {
        var h = Self.raffle()
        h.clock += 3_600_000
        #expect(h.rejection(h.run(.grantTickets(.discord(Self.alice), amount: 5, reason: "late"))) == "period_ended")
        #expect(
            h.rejection(h.run(.removeTickets(.discord(Self.alice), amount: 5, source: nil, reason: "late")))
                == "period_ended")
        #expect(h.rejection(h.run(.setRaffleExclusion(.discord(Self.alice), excluded: true))) == "period_ended")
        #expect(h.state.person(.discord(Self.alice)).totalTickets == 10)
    }

    // 2. Draws of an open period.
    @Test func openPeriodsAreNeverDrawn() {
        var h = Self.raffle()
        let before = h.log.count
        #expect(h.rejection(h.run(.drawRaffle(seed: Harness.seed, winners: 1))) == "period_not_closed")
        #expect(h.rejection(h.run(.drawRaffle(seed: nil, winners: 1, period: PeriodID(1)))) == "period_not_closed")
        #expect(h.rejection(h.run(.drawRaffle(seed: nil, winners: 1, period: PeriodID(7)))) == "unknown_period")
        #expect(h.log.count == before)
        var empty = Harness()
        #expect(empty.rejection(empty.run(.drawRaffle(seed: nil, winners: 1))) == "no_period")
    }

    @Test func extraWinnersAndRerollsAreDistinctAndTakeTheNextIndexOfOneStream() throws {
        var h = Self.raffle()
        h.closeAndRecordBeacon()
        let first = try #require(Self.draws(h.accept(.drawRaffle(seed: nil, winners: 1))).first)
        let extra = try #require(Self.draws(h.accept(.drawRaffle(seed: nil, winners: 1))).first)
        #expect(first.number == 1 && extra.number == 2)
        #expect(first.replaces == 0 && extra.replaces == 0 && extra.reason.isEmpty)
        #expect(h.rejection(h.run(.rerollRaffle(period: nil, replaces: 1, reason: ""))) == "invalid_text")
        #expect(h.rejection(h.run(.rerollRaffle(period: nil, replaces: 9, reason: "x"))) == "unknown_draw")
        let reroll = try #require(
            Self.draws(h.accept(.rerollRaffle(period: nil, replaces: 1, reason: "no answer in 48 h"))).first)
        #expect(reroll.number == 3 && reroll.replaces == 1 && reroll.reason == "no answer in 48 h")
        #expect(Set([first.winner, extra.winner, reroll.winner]).count == 3)
        #expect(h.rejection(h.run(.rerollRaffle(period: nil, replaces: 1, reason: "again"))) == "draw_replaced")
        // Each is draw k of the same stream, skipping the winners before it.
        let table = h.state.raffle.tables[PeriodID(1)]!
        let beacon = h.state.raffle.beacons[PeriodID(1)]!
        let third = try RaffleDrawing.draw(
            guild: h.guild, period: PeriodID(1), number: 3, serverSeed: Harness.seed, beacon: beacon, table: table,
            earlierWinners: [first.winner, extra.winner], replaces: 1, reason: "no answer in 48 h"
        ).get()
        #expect(third == reroll)
        // Drawing everyone out ends with no participants left, and nothing is appended.
        h.accept(.drawRaffle(seed: nil, winners: 1))
        let count = h.log.count
        #expect(h.rejection(h.run(.drawRaffle(seed: nil, winners: 1))) == "no_participants")
        #expect(h.log.count == count)
    }

    // 3. The operator knows every seed in advance: mix in the beacon.
    @Test func openingCommitsToTheFirstDrandRoundAfterThePeriodsEnd() {
        var h = Harness()
        h.accept(.openRafflePeriod(startsAt: nil, endsAt: nil, seedCommitment: Harness.commitment))
        let period = h.state.raffle.current!
        let round = period.beaconRound
        let published = DrandChain.mainnet.time(of: round)!
        #expect(published > period.endsAt)
        #expect(DrandChain.mainnet.time(of: round - 1)! <= period.endsAt)
        // 2027-01-01T00:00:00Z is 1798761600 s; mainnet round r is out at 1595431050 + 30 (r − 1).
        #expect(period.endsAt == Timestamp(milliseconds: 1_798_761_600_000))
        #expect(round == (1_798_761_600 - 1_595_431_050) / 30 + 2)
        var past = Harness()
        #expect(
            past.rejection(
                past.run(
                    .openRafflePeriod(
                        startsAt: Timestamp(milliseconds: past.clock - 7_200_000),
                        endsAt: Timestamp(milliseconds: past.clock - 1), seedCommitment: Harness.commitment)))
                == "invalid_period")
    }

    @Test func aDrawRefusesWithoutTheBeaconAndMixesItIntoTheSeed() throws {
        var h = Self.raffle()
        h.accept(.closeRafflePeriod(seed: Harness.seed))
        #expect(h.rejection(h.run(.drawRaffle(seed: nil, winners: 1))) == "no_beacon")
        let round = h.state.raffle.periods[PeriodID(1)]!.beaconRound
        let published = DrandChain.mainnet.time(of: round)!.rawValue
        #expect(h.rejection(h.run(.recordBeacon(period: nil, round: round, value: Harness.beacon))) == "beacon_not_due")
        h.clock = published
        #expect(
            h.rejection(h.run(.recordBeacon(period: nil, round: round + 1, value: Harness.beacon)))
                == "beacon_round_mismatch")
        #expect(
            h.rejection(h.run(.recordBeacon(period: nil, round: round, value: Array(Harness.beacon.dropLast()))))
                == "invalid_beacon")
        h.accept(.recordBeacon(period: nil, round: round, value: Harness.beacon))
        #expect(h.accept(.recordBeacon(period: nil, round: round, value: Harness.beacon)).isEmpty)
        var other = Harness.beacon
        other[0] ^= 1
        #expect(h.rejection(h.run(.recordBeacon(period: nil, round: round, value: other))) == "beacon_recorded")
        let draw = try #require(Self.draws(h.accept(.drawRaffle(seed: nil, winners: 1))).first)
        #expect(draw.beacon == Harness.beacon && draw.beaconRound == round)
        // The operator, knowing only the server seed, cannot tell the winning ticket: across beacon values
        // it moves.
        let table = h.state.raffle.tables[PeriodID(1)]!
        let tickets = Set(
            (0..<16).map { i -> Int64 in
                let b = RaffleBeacon(round: round, value: Array(repeating: UInt8(i), count: 32))
                return
                    (try? RaffleDrawing.draw(
                        guild: h.guild, period: PeriodID(1), number: 1, serverSeed: Harness.seed, beacon: b,
                        table: table,
                        earlierWinners: []
                    ).get().winningTicket) ?? -1
            })
        #expect(tickets.count > 8)
        // And the draw seed is SHA-256(server seed ‖ beacon).
        #expect(
            RaffleDrawing.drawSeed(serverSeed: Harness.seed, beacon: Harness.beacon)
                == RaffleDrawing.commitment(for: Harness.seed + Harness.beacon))
    }

    // 5. The ended month can be drawn after the next one opened.
    @Test func drawsNameTheirPeriodAndDefaultToTheNewestClosed() throws {
        var h = Self.raffle()
        h.closeAndRecordBeacon()
        h.accept(
            .openRafflePeriod(
                startsAt: h.now, endsAt: Timestamp(milliseconds: h.clock + 3_600_000),
                seedCommitment: Harness.commitment))
        #expect(h.state.person(.discord(Self.alice)).totalTickets == 0, "tickets reset for period 2")
        let draw = try #require(Self.draws(h.accept(.drawRaffle(seed: nil, winners: 2))).first)
        #expect(draw.period == PeriodID(1) && draw.totalTickets == 100)
        #expect(h.rejection(h.run(.drawRaffle(seed: nil, winners: 1, period: PeriodID(2)))) == "period_not_closed")
        let named = try #require(Self.draws(h.accept(.drawRaffle(seed: nil, winners: 1, period: PeriodID(1)))).first)
        #expect(named.number == 3)
    }

    @Test func drawsSurviveAReplay() {
        var h = Self.raffle()
        h.closeAndRecordBeacon()
        h.accept(.drawRaffle(seed: nil, winners: 2))
        #expect(h.rebuilt() == h.state)
    }

    @Test func ticketTotalsThatOverflowAreARejectionNotATrap() {
        var h = Harness()
        h.accept(
            .openRafflePeriod(
                startsAt: h.now, endsAt: Timestamp(milliseconds: h.clock + 3_600_000),
                seedCommitment: Harness.commitment))
        var entries: [RaffleTable.Entry] = []
        for i in 0..<12 {
            var t = TicketCounts()
            t[3] = Int64.max / 8
            entries.append(RaffleTable.Entry(person: .discord(UserID(UInt64(i + 1))), tickets: t, excluded: false))
        }
        let result = RaffleDrawing.draw(
            guild: h.guild, period: PeriodID(1), number: 1, serverSeed: Harness.seed,
            beacon: RaffleBeacon(round: 1, value: Harness.beacon), table: RaffleTable(entries: entries),
            earlierWinners: [])
        guard case .failure(.overflow) = result else {
            Issue.record("an overflowing total was drawn: \(result)")
            return
        }
    }
}
