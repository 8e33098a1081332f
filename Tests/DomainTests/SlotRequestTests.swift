import EventLog
import Testing

@testable import Domain

/// Slot requests from Kick chat (`!sr`, `!call`) and the provably fair pick, through the real rules
/// and codec.
@Suite struct SlotRequestTests {
    static let secret = Array(repeating: UInt8(3), count: 32)

    func opened(_ settings: [SettingKey: Int64] = [:]) -> Harness {
        var h = Harness()
        h.accept(.connectKickChannel(KickRulesTests.channel))
        for (key, value) in settings { h.accept(.setSetting(key, value)) }
        h.accept(.game(.openSlotQueue(commitment: SlotPicking.commitment(for: seed(h, round: 1)))))
        return h
    }

    func seed(_ h: Harness, round: UInt32) -> [UInt8] {
        SlotPicking.seed(secret: Self.secret, guild: h.guild, round: round)
    }

    /// A chatter types `message`; returns the events.
    @discardableResult
    func say(_ h: inout Harness, _ chatter: UInt64, _ message: String) -> [DomainEvent] {
        h.accept(
            .answerChatCommand(
                KickUserID(chatter), username: "viewer\(chatter)", message: message, messageID: "m\(h.clock)-\(chatter)"
            ))
    }

    func replies(_ events: [DomainEvent]) -> [String] {
        events.compactMap {
            if case .deliveryRequested(let d) = $0, case .kickChat(_, let content, _) = d.destination { return content }
            return nil
        }
    }

    @Test func requestsJoinTheQueueInOrderAndAreAnswered() {
        var h = opened()
        #expect(
            replies(say(&h, 1, "!sr Gates of Olympus")) == ["@viewer1 Gates of Olympus is #1 in the queue (request 1)."]
        )
        say(&h, 2, "!call  Book of Dead  ")
        #expect(h.state.games.slotQueue.map(\.slot) == ["Gates of Olympus", "Book of Dead"])
        #expect(h.state.games.slotQueue.map(\.number) == [1, 2])
        #expect(h.rebuilt().games == h.state.games, "replay gives the same queue")
    }

    @Test func aClosedQueueRefusesAndRefusalsAreRateLimitedPerChatter() {
        var h = Harness()
        h.accept(.connectKickChannel(KickRulesTests.channel))
        #expect(replies(say(&h, 1, "!sr x")) == ["@viewer1 slot requests are closed."])
        #expect(say(&h, 1, "!sr x").isEmpty, "a second refusal within the chat cooldown is silent")
        h.advance(seconds: 30)
        #expect(replies(say(&h, 1, "!sr x")).count == 1)
        #expect(h.state.games.slotQueue.isEmpty)
    }

    @Test(arguments: [(29, false), (30, true), (31, true)])
    func theCooldownIsPerPersonAndThirtySecondsByDefault(wait: Int64, accepted: Bool) {
        var h = opened()
        say(&h, 1, "!sr a")
        say(&h, 2, "!sr b")
        h.advance(seconds: wait)
        let events = say(&h, 1, "!sr c")
        #expect(h.state.games.slotQueue.count == (accepted ? 3 : 2))
        #expect(accepted || events.isEmpty, "a request within the cooldown is ignored, not answered")
    }

    @Test func theCapCountsOnlyWaitingRequests() {
        var h = opened([.slotRequestCap: 2, .slotRequestCooldownSeconds: 0])
        say(&h, 1, "!sr a")
        say(&h, 1, "!sr b")
        #expect(replies(say(&h, 1, "!sr c")) == ["@viewer1 you have 2 requests waiting already."])
        #expect(h.state.games.slotQueue.count == 2)
        // Once one is picked, the cap has room again.
        h.accept(.game(.pickSlot(seed: seed(h, round: 1))))
        h.advance(seconds: 30)
        say(&h, 1, "!sr c")
        #expect(h.state.games.slotQueue.count == 2)
    }

    @Test func duplicatesAreRefusedOnlyWhenTheGuildSaysSo() {
        var h = opened([.slotRequestCooldownSeconds: 0])
        say(&h, 1, "!sr Sweet Bonanza")
        say(&h, 2, "!sr sweet   BONANZA")
        #expect(h.state.games.slotQueue.count == 2)
        h.accept(.setSetting(.slotRequestRefuseDuplicates, 1))
        #expect(replies(say(&h, 3, "!sr SWEET bonanza")) == ["@viewer3 SWEET bonanza is in the queue already."])
        #expect(h.state.games.slotQueue.count == 2)
    }

    @Test func blacklistedSlotsAreRefusedWhateverTheirCase() {
        var h = opened()
        h.accept(.game(.setSlotBlacklist(slot: "  Crazy   Time ", blocked: true)))
        #expect(h.state.games.slotBlacklist == ["crazy time"])
        #expect(replies(say(&h, 1, "!sr crazy TIME")) == ["@viewer1 crazy TIME cannot be requested."])
        h.accept(.game(.setSlotBlacklist(slot: "crazy time", blocked: false)))
        h.advance(seconds: 60)
        say(&h, 1, "!sr crazy TIME")
        #expect(h.state.games.slotQueue.count == 1)
    }

    @Test func emptyOrOverlongSlotNamesAreRefused() {
        var h = opened()
        #expect(replies(say(&h, 1, "!sr   ")).first?.contains("name a slot") == true)
        h.advance(seconds: 60)
        #expect(replies(say(&h, 2, "!sr " + String(repeating: "é", count: 51))).first?.contains("name a slot") == true)
        #expect(h.state.games.slotQueue.isEmpty)
    }

    @Test func adminsSkipClearAndPickAndEveryPickVerifies() {
        var h = opened([.slotRequestCooldownSeconds: 0])
        for i in 1...30 { say(&h, UInt64(i), "!sr slot \(i)") }
        h.accept(.game(.skipSlotRequest(number: 4)))
        #expect(h.rejection(h.run(.game(.skipSlotRequest(number: 4)))) == "unknown_slot_request")
        let seed = seed(h, round: 1)
        #expect(h.rejection(h.run(.game(.pickSlot(seed: Array(repeating: 1, count: 32))))) == "seed_mismatch")
        var picked: [UInt32] = []
        for _ in 0..<5 {
            let events = h.accept(.game(.pickSlot(seed: seed)))
            guard case .game(.slotPicked(let pick)) = events.first else {
                Issue.record("no pick: \(events)")
                return
            }
            picked.append(pick.request.number)
        }
        #expect(Set(picked).count == 5 && !picked.contains(4))
        #expect(h.state.games.slotQueue.count == 30 - 1 - 5)
        // Before the close the seed is secret: the picks are pending.
        let pending = SlotPicking.verify(guild: h.guild, events: h.log.map(\.event))
        #expect(pending.count == 5 && pending.allSatisfy { $0.seed == nil && !$0.matches })
        h.accept(.game(.closeSlotQueue(seed: seed)))
        let checks = SlotPicking.verify(guild: h.guild, events: h.log.map(\.event))
        #expect(checks.count == 5 && checks.allSatisfy(\.matches))
        h.accept(.game(.clearSlotQueue))
        #expect(h.state.games.slotQueue.isEmpty)
        #expect(h.rejection(h.run(.game(.pickSlot(seed: seed)))) == "no_slot_requests")
    }

    @Test func aTamperedPickOrQueueFailsVerification() {
        var h = opened([.slotRequestCooldownSeconds: 0])
        for i in 1...10 { say(&h, UInt64(i), "!sr s\(i)") }
        h.accept(.game(.pickSlot(seed: seed(h, round: 1))))
        h.accept(.game(.closeSlotQueue(seed: seed(h, round: 1))))
        var events = h.log.map(\.event)
        // Someone rewrites which request won.
        let index = events.firstIndex { if case .game(.slotPicked) = $0 { true } else { false } }!
        guard case .game(.slotPicked(var pick)) = events[index] else { return }
        let honest = pick
        pick.request = SlotRequest(
            number: pick.request.number == 1 ? 2 : 1, chatter: KickUserID(1), username: "x", slot: "s")
        events[index] = .game(.slotPicked(pick))
        #expect(SlotPicking.verify(guild: h.guild, events: events).first?.matches == false)
        // Someone drops a request from the history before the pick.
        events[index] = .game(.slotPicked(honest))
        let request = events.firstIndex { if case .game(.slotRequested) = $0 { true } else { false } }!
        events.remove(at: request)
        #expect(SlotPicking.verify(guild: h.guild, events: events).first?.candidatesMatch == false)
    }

    @Test func openingTwiceOrClosingWithAnotherSeedIsRefused() {
        var h = opened()
        #expect(
            h.rejection(h.run(.game(.openSlotQueue(commitment: Array(repeating: 0, count: 32))))) == "slot_queue_open")
        #expect(h.rejection(h.run(.game(.closeSlotQueue(seed: [1, 2, 3])))) == "seed_mismatch")
        #expect(h.rejection(h.run(.game(.openSlotQueue(commitment: [1])))) == "invalid_commitment")
    }

    @Test func theQueueSurvivesASnapshotRoundTrip() throws {
        var h = opened([.slotRequestCooldownSeconds: 0])
        for i in 1...5 { say(&h, UInt64(i), "!sr s\(i)") }
        h.accept(.game(.pickSlot(seed: seed(h, round: 1))))
        h.accept(.game(.setSlotBlacklist(slot: "bad", blocked: true)))
        var w = ByteWriter()
        h.state.encodeSnapshot(into: &w)
        let decoded = try w.bytes.withUnsafeBytes { raw in
            var r = ByteReader(raw)
            return try GuildState.decodeSnapshot(from: &r, globalDefaults: [:], remembersKeys: true)
        }
        #expect(decoded.games == h.state.games)
    }
}
