import EventLog
import Testing

@testable import Domain

/// Guess the balance, custom commands and timed messages, through the real rules and codec.
@Suite struct ChatGamesTests {
    func connected() -> Harness {
        var h = Harness()
        h.accept(.connectKickChannel(KickRulesTests.channel))
        return h
    }

    @discardableResult
    func say(_ h: inout Harness, _ chatter: UInt64, _ message: String, name: String? = nil) -> [DomainEvent] {
        h.accept(
            .answerChatCommand(
                KickUserID(chatter), username: name ?? "viewer\(chatter)", message: message,
                messageID: "m\(h.clock)-\(chatter)"))
    }

    func replies(_ events: [DomainEvent]) -> [String] {
        events.compactMap {
            if case .deliveryRequested(let d) = $0, case .kickChat(_, let content, _) = d.destination { return content }
            return nil
        }
    }

    // MARK: Exact decimals

    @Test(
        arguments: [
            ("1234.56", 123_456), ("1234.5", 123_450), ("1234", 123_400), ("$1,234.56", 123_456), ("0.01", 1),
            ("999,999,999,999.99", 99_999_999_999_999), ("999999999999.99", 99_999_999_999_999), ("0.1", 10),
            ("0.05", 5), ("$0.50", 50),
        ] as [(String, Int64)])
    func amountsParseExactly(text: String, cents: Int64) {
        #expect(MoneyAmount(parsing: text)?.cents == cents)
    }

    @Test(arguments: [
        "", "0", "0.00", "-5", "+5", "1e3", "NaN", "nan", "inf", "Infinity", "1.234", "1,23", "12,34.5", ",123",
        "1 000", "1000000000000", "999999999999.999", "1000000000000.00", ".5", "5.", "0x10", "１２", "1.2.3", "$",
        "$-1", "1,000,00", "007", "0,100", "00.5", "0.0", "$0.00",
    ])
    func everythingElseIsRefused(text: String) {
        #expect(MoneyAmount(parsing: text) == nil, "\(text) parsed")
    }

    @Test func formattingIsExact() {
        #expect(MoneyAmount.format(123_456) == "1,234.56")
        #expect(MoneyAmount.format(5) == "0.05")
        #expect(MoneyAmount.format(99_999_999_999_999) == "999,999,999,999.99")
    }

    // MARK: Guess the balance

    @Test func oneGuessEachAReGuessOverwritesAndTiesGoToTheEarlierGuess() {
        var h = connected()
        h.accept(.game(.openGuess))
        say(&h, 1, "!guess 1000")
        h.advance(seconds: 1)
        say(&h, 2, "!guess 1200")  // distance 100 from 1100
        h.advance(seconds: 1)
        say(&h, 3, "!guess 1000")  // distance 100, later than 2
        h.advance(seconds: 1)
        say(&h, 1, "!guess 5000.00")  // 1 re-guesses: now the latest and far away
        #expect(h.state.games.guesses.count == 3)
        #expect(h.state.games.guesses[KickUserID(1)]?.cents == 500_000)
        h.accept(.game(.closeGuess))
        #expect(say(&h, 4, "!guess 1").count == 2, "closed: refused in chat")
        let events = h.accept(.game(.resolveGuess(result: "1100", winners: nil)))
        guard case .game(.guessResolved(let result)) = events.first else {
            Issue.record("no result: \(events)")
            return
        }
        #expect(result.winners.map(\.chatter) == [KickUserID(2), KickUserID(3), KickUserID(1)])
        #expect(result.winners.map(\.distance) == [10_000, 10_000, 390_000])
        #expect(replies(events).first?.hasPrefix("💰 The balance was 1,100.00. Closest of 3: 1. viewer2") == true)
        #expect(h.rejection(h.run(.game(.resolveGuess(result: "1100", winners: nil)))) == "no_guess_session")
        #expect(h.rebuilt().games == h.state.games)
    }

    @Test func topNDefaultsToThreeAndIsOneToTen() {
        var h = connected()
        h.accept(.game(.openGuess))
        for i in 1...12 { say(&h, UInt64(i), "!guess \(i * 10)") }
        #expect(h.rejection(h.run(.game(.resolveGuess(result: "55", winners: 0)))) == "invalid_value")
        #expect(h.rejection(h.run(.game(.resolveGuess(result: "55", winners: 11)))) == "invalid_value")
        #expect(h.rejection(h.run(.game(.resolveGuess(result: "NaN", winners: nil)))) == "invalid_amount")
        let events = h.accept(.game(.resolveGuess(result: "55", winners: nil)))
        guard
            case .game(.guessResolved(let result)) = events.last(where: { if case .game = $0 { true } else { false } })
        else { return }
        #expect(result.winners.count == 3)
        #expect(result.winners.map(\.cents) == [5_000, 6_000, 4_000], "50 and 60 tie at 5; 50 guessed first")
    }

    @Test func badGuessesAreAnsweredAndChangeNothing() {
        var h = connected()
        h.accept(.game(.openGuess))
        for (i, text) in ["abc", "0", "-1", "1e9", "NaN", "1000000000000", "12.345"].enumerated() {
            let events = say(&h, UInt64(100 + i), "!guess \(text)")
            #expect(replies(events).first?.contains("a guess is an amount") == true, "\(text)")
        }
        #expect(h.state.games.guesses.isEmpty)
    }

    @Test func theResultIsAnnouncedInDiscordWhenTheGuildNamesAChannel() {
        var h = connected()
        h.accept(.setSetting(.gamesAnnouncementChannel, 77))
        h.accept(.game(.openGuess))
        say(&h, 1, "!guess 10")
        let events = h.accept(.game(.resolveGuess(result: "12", winners: 1)))
        let discord = events.compactMap {
            if case .deliveryRequested(let d) = $0, case .discordMessage(77, let content) = d.destination {
                return content
            }
            return nil
        }
        #expect(discord.count == 1 && discord[0].contains("viewer1"))
        let ids = events.compactMap { if case .deliveryRequested(let d) = $0 { return d.id } else { return nil } }
        #expect(Set(ids).count == ids.count, "each delivery its own id")
    }

    // MARK: Custom commands

    @Test func aCustomCommandAnswersWithItsVariablesAndCooldown() {
        var h = connected()
        h.accept(.adjustPoints(.kick(KickUserID(1)), delta: 1500, reason: "x"))
        h.accept(.adjustPoints(.kick(KickUserID(2)), delta: 3000, reason: "x"))
        h.accept(
            .game(
                .saveCustomCommand(
                    CustomCommand(
                        name: "Me", template: "{{{user}}} has {points} points, rank {rank}, {watchtime}, {tickets} t",
                        cooldownSeconds: 10))))
        #expect(replies(say(&h, 1, "!me", name: "mizuro")) == ["{mizuro} has 1,500 points, rank #2, 0h 0m, 0 t"])
        #expect(say(&h, 2, "!ME").isEmpty, "within its cooldown")
        h.advance(seconds: 10)
        #expect(replies(say(&h, 3, "!me")) == ["{viewer3} has 0 points, rank unranked, 0h 0m, 0 t"])
    }

    @Test(arguments: [
        ("{user", "without its }"), ("hello }", "lone }"), ("{points} {nope}", "unknown variable {nope}"),
        ("{}", "unknown variable {}"), ("{{user}", "lone }"), ("", "empty"),
        (String(repeating: "{", count: 10_240), "at most 1000 bytes"),
        (String(repeating: "{user} ", count: 200), "at most 1000 bytes"),
    ])
    func hostileTemplatesAreRefusedWhenSavedWithTheReason(template: String, reason: String) {
        var h = connected()
        let decision = h.run(
            .game(.saveCustomCommand(CustomCommand(name: "x", template: template, cooldownSeconds: 0))))
        guard case .rejected(let rejection) = decision else {
            Issue.record("saved: \(template.prefix(40))")
            return
        }
        #expect(rejection.code == .invalidTemplate)
        #expect(rejection.message.contains(reason), "\(rejection.message)")
        #expect(h.state.games.customCommands.isEmpty)
    }

    @Test func doubledBracesAreLiteralEvenWhenManyAndTheOutputIsCutOnACharacterBoundary() {
        var h = connected()
        h.accept(
            .game(
                .saveCustomCommand(
                    CustomCommand(name: "b", template: String(repeating: "{{", count: 500), cooldownSeconds: 0))))
        #expect(replies(say(&h, 1, "!b")) == [String(repeating: "{", count: 500)])
        // 498 bytes of text, then a 4-byte emoji for {user}: cut before it, never inside.
        h.accept(
            .game(
                .saveCustomCommand(
                    CustomCommand(
                        name: "e", template: String(repeating: "a", count: 498) + "{user}", cooldownSeconds: 0))))
        let reply = replies(say(&h, 2, "!e", name: "🎰🎰"))[0]
        #expect(reply == String(repeating: "a", count: 498))
        #expect(reply.utf8.count <= GuildState.kickChatLimit)
    }

    @Test func builtInNamesAndMalformedNamesAreRefused() {
        var h = connected()
        for name in ["bad name", "", String(repeating: "a", count: 33), "émoji", "a!"] {
            let decision = h.run(
                .game(.saveCustomCommand(CustomCommand(name: name, template: "x", cooldownSeconds: 0))))
            #expect(h.rejection(decision) == "invalid_name", "\(name)")
        }
        for name in ["points", "SR", "guess", "link", "call"] {
            let decision = h.run(
                .game(.saveCustomCommand(CustomCommand(name: name, template: "x", cooldownSeconds: 0))))
            #expect(h.rejection(decision) == "name_taken", "\(name)")
        }
        #expect(h.rejection(h.run(.game(.deleteCustomCommand(name: "nope")))) == "unknown_custom_command")
    }

    // MARK: Timed messages

    @Test func timedMessagesGoOutOnlyWhileLiveAndTwoPeopleChatAndNeverInABurst() {
        var h = connected()
        h.accept(.game(.saveTimedMessage(TimedMessage(id: 0, text: "Follow!", intervalMinutes: 10))))
        #expect(
            h.rejection(h.run(.game(.saveTimedMessage(TimedMessage(id: 0, text: "x", intervalMinutes: 0)))))
                == "invalid_value")
        h.advance(seconds: 600)
        h.chat(1)
        h.chat(2)
        #expect(h.accept(.game(.sendTimedMessages)).isEmpty, "offline")
        h.accept(.setStreamStatus(live: true))
        let sent = h.accept(.game(.sendTimedMessages))
        #expect(replies(sent) == ["Follow!"])
        #expect(h.accept(.game(.sendTimedMessages)).isEmpty, "not due again yet")
        // Five hours pass (a restart, say) with the chatters still around: one message, not thirty.
        h.advance(seconds: 5 * 3600)
        h.chat(1)
        h.chat(2)
        #expect(replies(h.accept(.game(.sendTimedMessages))) == ["Follow!"])
        #expect(h.accept(.game(.sendTimedMessages)).isEmpty)
        // Only one person chatted in the last 5 minutes: nothing.
        h.advance(seconds: 600)
        h.chat(1)
        #expect(h.accept(.game(.sendTimedMessages)).isEmpty)
        h.chat(3)
        #expect(replies(h.accept(.game(.sendTimedMessages))) == ["Follow!"])
        #expect(h.rebuilt().games == h.state.games)
    }
}
