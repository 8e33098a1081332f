import EventLog
import Testing

@testable import Domain

/// The Kick connection, chat commands and the outbox, through the real rules and codec.
@Suite struct KickRulesTests {
    static let channel = KickChannel(broadcaster: KickUserID(7_700_123), slug: "mizuro_live")

    func connected() -> Harness {
        var h = Harness()
        h.accept(.connectKickChannel(Self.channel))
        return h
    }

    func replies(_ events: [DomainEvent]) -> [String] {
        events.compactMap {
            if case .deliveryRequested(let d) = $0, case .kickChat(_, let content, _) = d.destination { return content }
            return nil
        }
    }

    @Test func connectingRecordsTheChannelAndRequestsItsSubscriptionsOnce() {
        var h = Harness()
        let events = h.accept(.connectKickChannel(Self.channel))
        #expect(events.first == .kickChannelConnected(Self.channel))
        guard case .deliveryRequested(let d) = events.last,
            case .kickSubscriptions(let broadcaster, let types) = d.destination
        else {
            Issue.record("no subscription request: \(events)")
            return
        }
        #expect(
            broadcaster == Self.channel.broadcaster && types == KickChannel.subscribedEvents && d.id == DeliveryID(1))
        #expect(h.state.kickChannel == Self.channel && h.state.deliveries.count == 1)
        #expect(h.accept(.connectKickChannel(Self.channel)).isEmpty, "connecting again changes nothing")
        #expect(
            h.rejection(h.run(.connectKickChannel(KickChannel(broadcaster: KickUserID(1), slug: "bad slug!"))))
                == "invalid_text")
    }

    @Test func chatCommandsAnswerWithThePersonsNumbersThroughTheOutbox() {
        var h = connected()
        h.accept(.adjustPoints(.kick(KickUserID(5)), delta: 1_234, reason: "welcome"))
        h.chat(5, "mizuro")
        let events = h.accept(
            .answerChatCommand(KickUserID(5), username: "mizuro", message: "!points", messageID: "m1"))
        #expect(events.first == .chatCommandUsed(KickUserID(5), command: "points"))
        #expect(replies(events) == ["@mizuro you have 1,234 points."])
        guard case .deliveryRequested(let d) = events.last, case .kickChat(_, _, let replyTo) = d.destination else {
            return
        }
        #expect(replyTo == "m1" && d.id == DeliveryID(2))
        // Not a command, an unknown command, or a command of an unconnected guild: nothing.
        #expect(h.accept(.answerChatCommand(KickUserID(6), username: "x", message: "hello", messageID: "m2")).isEmpty)
        #expect(h.accept(.answerChatCommand(KickUserID(6), username: "x", message: "!nope", messageID: "m3")).isEmpty)
        var unconnected = Harness()
        #expect(
            unconnected.accept(.answerChatCommand(KickUserID(6), username: "x", message: "!points", messageID: "m4"))
                .isEmpty)
    }

    @Test func aChatterIsOnCooldownUntilItEndsAndDisabledCommandsStaySilent() {
        var h = connected()
        #expect(
            !replies(h.accept(.answerChatCommand(KickUserID(5), username: "a", message: "!watchtime", messageID: "1")))
                .isEmpty)
        h.advance(seconds: 29)
        #expect(h.accept(.answerChatCommand(KickUserID(5), username: "a", message: "!points", messageID: "2")).isEmpty)
        #expect(
            !h.accept(.answerChatCommand(KickUserID(6), username: "b", message: "!points", messageID: "3")).isEmpty,
            "another chatter is not on cooldown")
        h.advance(seconds: 1)
        #expect(!h.accept(.answerChatCommand(KickUserID(5), username: "a", message: "!points", messageID: "4")).isEmpty)
        h.accept(.setSetting(.chatCommandsEnabled, 63 & ~ChatCommand.points.bit))
        h.advance(seconds: 60)
        #expect(h.accept(.answerChatCommand(KickUserID(5), username: "a", message: "!points", messageID: "5")).isEmpty)
        #expect(
            !h.accept(.answerChatCommand(KickUserID(5), username: "a", message: "!LINK now", messageID: "6")).isEmpty)
    }

    @Test func leaderboardAndRaffleRepliesFitKicksLimitOnACharacterBoundary() {
        var h = connected()
        let long = String(repeating: "é", count: 30)
        for i in 1...6 {
            h.chat(UInt64(i), "\(long)\(i)")
            h.accept(.adjustPoints(.kick(KickUserID(UInt64(i))), delta: Int64(i) * 1000, reason: "r"))
        }
        let reply = replies(
            h.accept(.answerChatCommand(KickUserID(1), username: "a", message: "!leaderboard", messageID: "1")))[0]
        #expect(reply.utf8.count <= GuildState.kickChatLimit)
        #expect(reply.hasPrefix("@a top points: 1. \(long)6 (6,000)"))
        h.advance(seconds: 60)
        let raffle = replies(
            h.accept(.answerChatCommand(KickUserID(1), username: "a", message: "!raffle", messageID: "2")))
        #expect(raffle == ["@a no raffle is open right now."])
        #expect(GuildState.truncated("aé", to: 2) == "a", "a character is never cut in half")
    }

    @Test func deliveryOutcomesEmptyTheOutboxOnceAndUnknownIdsAreRefused() {
        var h = connected()
        #expect(h.accept(.recordDelivery(DeliveryID(1), outcome: .delivered, detail: "201")).count == 1)
        #expect(h.state.deliveries.isEmpty)
        #expect(h.accept(.recordDelivery(DeliveryID(1), outcome: .delivered, detail: "201")).isEmpty)
        #expect(
            h.rejection(h.run(.recordDelivery(DeliveryID(9), outcome: .delivered, detail: ""))) == "unknown_delivery")
        #expect(h.rebuilt() == h.state)
    }

    @Test func aKickAuthorizationIsSingleUseAndExpires() {
        var h = Harness()
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        let start = Command.startKickAuthorization(
            UserID(9), state: "guild.state-one-123456", verifier: verifier,
            expiresAt: Timestamp(milliseconds: h.clock + 600_000))
        #expect(h.accept(start).count == 2)
        #expect(h.rejection(h.run(start)) == "invalid_text", "a state cannot be reused while it waits")
        #expect(h.accept(.finishKickAuthorization(state: "guild.state-one-123456")).count == 1)
        #expect(
            h.rejection(h.run(.finishKickAuthorization(state: "guild.state-one-123456"))) == "unknown_authorization")
        h.accept(
            .startKickAuthorization(
                UserID(9), state: "guild.state-two-123456", verifier: verifier,
                expiresAt: Timestamp(milliseconds: h.clock + 60_000)))
        h.advance(seconds: 61)
        #expect(
            h.rejection(h.run(.finishKickAuthorization(state: "guild.state-two-123456"))) == "authorization_expired")
        #expect(
            h.rejection(
                h.run(
                    .startKickAuthorization(
                        UserID(9), state: "guild.state-three-12345", verifier: verifier,
                        expiresAt: Timestamp(milliseconds: h.clock + 700_000)))) == "invalid_expiry",
            "at most 10 minutes")
        #expect(h.rebuilt() == h.state)
    }

    @Test func anAnonymousGiftIsRecordedWithItsReasonAndCreditsNobody() {
        var h = Harness()
        let events = h.accept(.recordGiftedSubs(gifter: nil, username: "", count: 3))
        #expect(events == [.giftedSubsUnattributed(count: 3, reason: "an anonymous gifter cannot be credited")])
        #expect(h.state.people.isEmpty)
    }
}
