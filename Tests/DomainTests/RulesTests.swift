import EventLog
import Testing

@testable import Domain

@Suite struct RulesTests {
    static let alice = UserID(1_100_000_000_000_000_001)
    static let bob = UserID(1_100_000_000_000_000_002)

    /// A live stream with chatters 1 and 2 (two are needed for ticks to count).
    static func liveGuild() -> Harness {
        var h = Harness()
        h.accept(.setStreamStatus(live: true))
        return h
    }

    // MARK: Old bugs that must be impossible

    @Test func minutesNeverConvertTwice() {
        var h = Self.liveGuild()
        for _ in 0..<23 { h.minute(chatters: [1, 2]) }
        let p = h.state.person(.kick(KickUserID(1)))
        #expect(p.minutes == 23)
        #expect(p.points == 4, "23 minutes hold 4 full blocks of 5 at 1 point each")
        #expect(p.unconvertedMinutes == 3)
        // Every conversion is one event naming the minutes it converted; they add up to the points.
        let converted = h.log.compactMap { e -> Int64? in
            if case .pointsEarned(.kick(KickUserID(1)), _, let m, _) = e.event { return m }
            return nil
        }
        #expect(converted.reduce(0, +) == 20)
        // Replaying the log (a restart, a rebuild) converts nothing again.
        let rebuilt = h.rebuilt()
        #expect(rebuilt.person(.kick(KickUserID(1))) == p)
        // A repeated tick (same key) is a duplicate, not a second conversion.
        let lastTick = "tick:\(h.clock)"
        guard case .duplicate = h.run(.tick, key: lastTick) else { Issue.record("tick replayed"); return }
        #expect(h.state.person(.kick(KickUserID(1))).points == 4)
    }

    @Test func giftedSubRedeliveryCreditsOnce() {
        var h = Harness()
        h.accept(.openRafflePeriod(startsAt: nil, endsAt: nil, seedCommitment: Harness.commitment))
        let kickEvent = "01JD5Q9V0W4M2R8X7K3N6B1C2D"
        h.accept(.recordGiftedSubs(gifter: KickUserID(7), username: "gifter", count: 3), key: kickEvent)
        #expect(h.state.person(.kick(KickUserID(7))).tickets(from: .giftedSub) == 45)
        for _ in 0..<3 {
            guard
                case .duplicate(let outcome) = h.run(
                    .recordGiftedSubs(gifter: KickUserID(7), username: "gifter", count: 3), key: kickEvent)
            else { Issue.record("redelivery was not recognised"); return }
            #expect(outcome.events == 2)
        }
        #expect(h.state.person(.kick(KickUserID(7))).tickets(from: .giftedSub) == 45)
        // Also after the state is rebuilt from the log: keys are part of the replayed state.
        var rebuilt = h.replayed()
        guard
            case .duplicate = rebuilt.run(
                .recordGiftedSubs(gifter: KickUserID(7), username: "gifter", count: 3), key: kickEvent)
        else { Issue.record("redelivery after rebuild credited again"); return }
    }

    @Test func ticketItemWithNoOpenPeriodIsRejectedBeforePointsMove() {
        var h = Harness()
        let buyer = PersonID.discord(Self.alice)
        h.accept(.adjustPoints(buyer, delta: 500, reason: "seed"))
        h.accept(.createShopItem(ShopItem(id: ItemID(0), name: "5 tickets", price: 100, kind: .raffleTickets(5))))
        let before = h.log.count
        #expect(h.rejection(h.run(.purchase(ItemID(1), buyer, requirement: ""))) == "no_open_period")
        #expect(h.log.count == before)
        #expect(h.state.person(buyer).points == 500)
        h.accept(.openRafflePeriod(startsAt: nil, endsAt: nil, seedCommitment: Harness.commitment))
        h.accept(.purchase(ItemID(1), buyer, requirement: ""))
        #expect(h.state.person(buyer).points == 400)
        #expect(h.state.person(buyer).tickets(from: .shop) == 5)
        #expect(h.state.orders[OrderID(1)]?.status == .completed)
    }

    @Test func balanceNeverGoesNegative() {
        var h = Harness()
        let p = PersonID.discord(Self.alice)
        h.accept(.adjustPoints(p, delta: 50, reason: "gift"))
        #expect(h.rejection(h.run(.spendPoints(p, amount: 51, reason: "too much"))) == "insufficient_points")
        #expect(h.rejection(h.run(.adjustPoints(p, delta: -51, reason: "too much"))) == "insufficient_points")
        #expect(h.rejection(h.run(.spendPoints(p, amount: -5, reason: "negative"))) == "invalid_amount")
        #expect(h.rejection(h.run(.spendPoints(p, amount: Int64.max, reason: "overflow"))) == "invalid_amount")
        #expect(h.rejection(h.run(.adjustPoints(p, delta: Int64.min, reason: "overflow"))) == "invalid_amount")
        h.accept(.createShopItem(ShopItem(id: ItemID(0), name: "Shoutout", price: 60)))
        #expect(h.rejection(h.run(.purchase(ItemID(1), p, requirement: ""))) == "insufficient_points")
        h.accept(.spendPoints(p, amount: 50, reason: "all of it"))
        #expect(h.state.person(p).points == 0)
        #expect(h.state.people.values.allSatisfy { $0.points >= 0 })
    }

    @Test func guildsNeverSeeEachOthersState() {
        var a = Harness(guild: 1)
        var b = Harness(guild: 2)
        a.accept(.adjustPoints(.discord(Self.alice), delta: 100, reason: "a"))
        a.accept(.setSetting(.pointsPer5Min, 9))
        #expect(b.state.person(.discord(Self.alice)).points == 0)
        #expect(b.state.settings[.pointsPer5Min] == 1)
        // The same idempotency key in another guild is another command.
        a.accept(.adjustPoints(.discord(Self.bob), delta: 1, reason: "x"), key: "shared")
        b.accept(.adjustPoints(.discord(Self.bob), delta: 1, reason: "x"), key: "shared")
        #expect(b.state.person(.discord(Self.bob)).points == 1)
    }

    @Test func renameNeverRecredits() {
        var h = Self.liveGuild()
        for _ in 0..<12 { h.minute(chatters: [1, 2]) }
        let before = h.state.person(.kick(KickUserID(1)))
        let events = h.accept(.recordChatActivity(KickUserID(1), username: "new_name"))
        #expect(events.first == .platformUsernameChanged(KickUserID(1), from: "chatter1", to: "new_name"))
        #expect(h.state.person(.kick(KickUserID(1))) == before)
        #expect(h.state.chatters[KickUserID(1)]?.username == "new_name")
        #expect(h.state.people.count == 2, "a rename creates no second person")
    }

    @Test func operatorCannotChooseTheDrawSeed() {
        var h = Harness()
        h.accept(.openRafflePeriod(startsAt: nil, endsAt: nil, seedCommitment: Harness.commitment))
        h.accept(.grantTickets(.discord(Self.alice), amount: 10, reason: "x"))
        h.accept(.grantTickets(.discord(Self.bob), amount: 10, reason: "y"))
        var chosen = Harness.seed
        chosen[0] ^= 1
        #expect(h.rejection(h.run(.closeRafflePeriod(seed: chosen))) == "seed_mismatch")
        // Draws are only of closed periods with their beacon recorded (issue 10).
        h.closeAndRecordBeacon()
        #expect(h.rejection(h.run(.drawRaffle(seed: chosen, winners: 1))) == "seed_mismatch")
        let events = h.accept(.drawRaffle(seed: Harness.seed, winners: 1))
        guard case .raffleWinnerDrawn(let draw) = events.first else { Issue.record("no draw"); return }
        #expect(draw.seed == Harness.seed)
        #expect(RaffleDrawing.commitment(for: draw.seed) == h.state.raffle.periods[PeriodID(1)]?.seedCommitment)
    }

    // MARK: Watch time

    @Test func ticksCountOnlyWhenLiveWithTwoChatters() {
        var h = Harness()
        h.minute(chatters: [1, 2])
        #expect(h.state.people.isEmpty, "offline: the old 2-chatter heuristic alone must not count")
        h.advance(seconds: 360)
        h.accept(.setStreamStatus(live: true))
        h.minute(chatters: [1])
        #expect(h.state.people.isEmpty, "one chatter is not enough")
        h.minute(chatters: [2])
        #expect(h.state.person(.kick(KickUserID(1))).minutes == 1, "chatter 1 spoke within 120 s")
        h.advance(seconds: 300)
        h.minute(chatters: [3])
        #expect(h.state.person(.kick(KickUserID(3))).minutes == 0, "1 was last seen over 5 minutes ago")
        h.accept(.overrideTracking(.forcedOn))
        h.minute(chatters: [3])
        #expect(h.state.person(.kick(KickUserID(3))).minutes == 1)
        h.accept(.overrideTracking(.forcedOff))
        h.minute(chatters: [3, 4])
        #expect(h.state.person(.kick(KickUserID(3))).minutes == 1)
    }

    @Test func subscribersEarnTheSubscriberRateAndSettingsOverrideDefaults() {
        var h = Self.liveGuild()
        h.accept(.recordSubscription(KickUserID(1), expiresAt: Timestamp(milliseconds: h.clock + 86_400_000)))
        h.accept(.setSetting(.subscriberPointsPer5Min, 3))
        for _ in 0..<10 { h.minute(chatters: [1, 2]) }
        #expect(h.state.person(.kick(KickUserID(1))).points == 6)
        #expect(h.state.person(.kick(KickUserID(2))).points == 2)
        #expect(h.rejection(h.run(.setSetting(.tickIntervalSeconds, 5))) == "invalid_value")
    }

    // MARK: Links, roles, raffle

    @Test func linkingMergesEarningsAndRejectsATakenAccount() {
        var h = Self.liveGuild()
        h.accept(.setRoleThreshold(RoleThreshold(role: RoleID(77), name: "Tier 0", minutes: 10, position: 0)))
        for _ in 0..<12 { h.minute(chatters: [1, 2]) }
        let earned = h.state.person(.kick(KickUserID(1)))
        h.accept(.requestLink(Self.alice, expiresAt: Timestamp(milliseconds: h.clock + 600_000)))
        let events = h.accept(.confirmLink(Self.alice, KickUserID(1), kickUsername: "chatter1"))
        #expect(
            events.contains(.chatterEarningsMerged(KickUserID(1), into: Self.alice, minutes: 12, points: 2, tickets: 0))
        )
        #expect(events.contains(.roleGrantRequested(Self.alice, RoleID(77))))
        #expect(h.state.person(.discord(Self.alice)).minutes == earned.minutes)
        #expect(h.state.people[.kick(KickUserID(1))] == nil)
        // Later watch time goes to the Discord user.
        h.minute(chatters: [1, 2])
        #expect(h.state.person(.discord(Self.alice)).minutes == 13)
        // Bob cannot take the same Kick account.
        h.accept(.requestLink(Self.bob, expiresAt: Timestamp(milliseconds: h.clock + 600_000)))
        let refused = h.accept(.confirmLink(Self.bob, KickUserID(1), kickUsername: "chatter1"))
        guard case .linkRejected(_, _, let reason) = refused.first else { Issue.record("not rejected"); return }
        #expect(reason.contains("already linked"))
        #expect(h.state.links[Self.bob] == nil)
        #expect(h.rejection(h.run(.confirmLink(Self.bob, KickUserID(9), kickUsername: "x"))) == "no_link_request")
    }

    @Test func watchTimeTicketsGoOnlyToLinkedPeopleForFullHours() {
        var h = Self.liveGuild()
        h.accept(.openRafflePeriod(startsAt: nil, endsAt: nil, seedCommitment: Harness.commitment))
        h.accept(.requestLink(Self.alice, expiresAt: Timestamp(milliseconds: h.clock + 600_000)))
        h.accept(.confirmLink(Self.alice, KickUserID(1), kickUsername: "chatter1"))
        for _ in 0..<125 { h.minute(chatters: [1, 2]) }
        #expect(h.state.person(.discord(Self.alice)).tickets(from: .watchtime) == 20)
        #expect(h.state.person(.kick(KickUserID(2))).totalTickets == 0)
    }

    @Test func shopLimitsStockAndCancellation() {
        var h = Harness()
        let p = PersonID.discord(Self.alice)
        h.accept(.adjustPoints(p, delta: 1000, reason: "seed"))
        h.accept(
            .createShopItem(
                ShopItem(
                    id: ItemID(0), name: "Song", price: 100, stock: 3, perPersonLimit: 1, limitWindowSeconds: 3600,
                    requirementPrompt: "Which song?")))
        #expect(h.rejection(h.run(.purchase(ItemID(1), p, requirement: ""))) == "invalid_text")
        h.accept(.purchase(ItemID(1), p, requirement: "Darude"))
        #expect(h.rejection(h.run(.purchase(ItemID(1), p, requirement: "again"))) == "limit_reached")
        h.accept(.cancelOrder(OrderID(1), reason: "not today"))
        #expect(h.state.person(p).points == 1000, "cancel refunds")
        h.accept(.purchase(ItemID(1), p, requirement: "again"), key: "buy-2")
        #expect(h.state.items[ItemID(1)]?.stock == 2)
        h.advance(seconds: 3601)
        h.accept(.purchase(ItemID(1), p, requirement: "third"))
        h.accept(.resetPurchaseLimit(ItemID(1), person: p))
        h.accept(.purchase(ItemID(1), p, requirement: "fourth"))
        #expect(h.rejection(h.run(.purchase(ItemID(1), .discord(Self.bob), requirement: "x"))) == "out_of_stock")
        h.accept(.fulfilOrder(OrderID(2)))
        #expect(h.rejection(h.run(.cancelOrder(OrderID(2), reason: "late"))) == "order_not_pending")
    }

    @Test func drawsAreRecomputableAndSkipEarlierWinners() throws {
        var h = Harness()
        h.accept(.openRafflePeriod(startsAt: nil, endsAt: nil, seedCommitment: Harness.commitment))
        for i in 1...5 { h.accept(.grantTickets(.discord(UserID(UInt64(i))), amount: Int64(i * 10), reason: "r")) }
        h.accept(.setRaffleExclusion(.discord(UserID(5)), excluded: true))
        let before = h.state
        h.closeAndRecordBeacon()
        let events = h.accept(.drawRaffle(seed: Harness.seed, winners: 3))
        let draws = events.compactMap { e -> RaffleDraw? in if case .raffleWinnerDrawn(let d) = e { d } else { nil } }
        #expect(draws.count == 3)
        #expect(Set(draws.map(\.winner)).count == 3)
        #expect(!draws.contains { $0.winner == .discord(UserID(5)) })
        // Anyone can recompute the first draw from the state before it.
        let participants = RaffleDrawing.participants(in: before, excludingWinners: [])
        #expect(participants.map(\.tickets) == [10, 20, 30, 40])
        let again = RaffleDrawing.draw(
            guild: before.guild, period: PeriodID(1), number: 1, serverSeed: Harness.seed,
            beacon: RaffleBeacon(round: draws[0].beaconRound, value: Harness.beacon),
            table: RaffleDrawing.table(of: before), earlierWinners: [])
        #expect(try again.get() == draws[0])
    }

    @Test func rolesAreGrantedAtThresholdsAndRevokedWhenRemovalIsEnabled() {
        var h = Self.liveGuild()
        h.accept(.requestLink(Self.alice, expiresAt: Timestamp(milliseconds: h.clock + 600_000)))
        h.accept(.confirmLink(Self.alice, KickUserID(1), kickUsername: "chatter1"))
        h.accept(.setRoleThreshold(RoleThreshold(role: RoleID(10), name: "Tier 1", minutes: 3, position: 1)))
        for _ in 0..<3 { h.minute(chatters: [1, 2]) }
        #expect(h.state.grantedRoles[Self.alice] == [RoleID(10)])
        #expect(h.state.outbox[RoleChange(user: Self.alice, role: RoleID(10), grant: true)] != nil)
        h.accept(.recordRoleDelivery(Self.alice, RoleID(10), granted: true, outcome: .delivered, detail: ""))
        #expect(h.state.outbox.isEmpty)
        #expect(
            h.rejection(
                h.run(.recordRoleDelivery(Self.alice, RoleID(10), granted: true, outcome: .delivered, detail: "")))
                == "not_pending")
        h.accept(.setSetting(.roleRemovalEnabled, 1))
        let events = h.accept(.removeRoleThreshold(RoleID(10)))
        #expect(events.contains(.roleRevokeRequested(Self.alice, RoleID(10))))
        #expect(h.state.grantedRoles[Self.alice] == nil)
    }

    @Test func idempotentOutcomesSurviveARebuildAndExpireAfterAWeek() {
        var h = Harness()
        h.accept(.adjustPoints(.discord(Self.alice), delta: 5, reason: "x"), key: "interaction-1")
        let rebuilt = h.rebuilt()
        #expect(rebuilt.keys["interaction-1"]?.firstSequence == 1)
        h.advance(seconds: 8 * 86_400)
        h.accept(.adjustPoints(.discord(Self.bob), delta: 5, reason: "y"), key: "interaction-2")
        #expect(h.state.keys["interaction-1"] == nil)
        #expect(h.rebuilt().keys["interaction-1"] == nil)
    }

    @Test func aGuildRemembersAtMostTheNewestKeysWhateverTheirAge() throws {
        var h = Harness()
        let extra = 25
        for i in 0..<(IdempotencyKeys.maximumCount + extra) {
            h.accept(.adjustPoints(.discord(Self.alice), delta: 1, reason: "chat"), key: "message-\(i)")
        }
        #expect(h.state.keys.count == IdempotencyKeys.maximumCount)
        #expect(h.state.keys["message-\(extra - 1)"] == nil, "the oldest are forgotten first")
        #expect(h.state.keys["message-\(extra)"] != nil)
        // Forgotten means a repeat is a new command; remembered means it is a duplicate.
        guard
            case .duplicate = h.run(
                .adjustPoints(.discord(Self.alice), delta: 1, reason: "chat"), key: "message-\(extra)")
        else {
            Issue.record("a remembered key must be a duplicate")
            return
        }
        // Replay and a snapshot remember exactly the same keys.
        let rebuilt = h.rebuilt()
        #expect(rebuilt.keys == h.state.keys)
        var w = ByteWriter(capacity: 1 << 20)
        h.state.encodeSnapshot(into: &w)
        let decoded = try w.bytes.withUnsafeBytes { raw in
            var r = ByteReader(raw)
            return try GuildState.decodeSnapshot(from: &r, globalDefaults: [:], remembersKeys: true)
        }
        #expect(decoded.keys == h.state.keys)
        #expect(decoded.keys.count == IdempotencyKeys.maximumCount)
    }
}
