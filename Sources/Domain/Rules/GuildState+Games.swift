public import EventLog

extension GuildState {
    /// The chat words the games answer (`!sr`, `!call`, `!guess`); custom commands may not take them,
    /// nor a built-in chat command's.
    static let gameWords: Set<String> = ["sr", "call", "guess"]

    /// The longest slot name a request may give, in bytes.
    public static let slotNameLimit = 100

    /// The rules of the chat games and messages (admins' commands and the timer's).
    func gameRules(_ command: GameCommand, _ c: CommandContext) throws -> [DomainEvent] {
        switch command {
        case .openSlotQueue(let commitment):
            // The fields were checked (``GameCommand/validateFields()``); here only the state decides.
            guard !games.slotQueueOpen else { throw Rejection(.slotQueueOpen, "the slot queue is open already") }
            let (round, overflow) = games.slotRound.addingReportingOverflow(1)
            guard !overflow else { throw Rejection(.amountOverflow, "no slot-request round numbers are left") }
            return [.game(.slotQueueOpened(round: round, commitment: commitment))]
                + chat("🎰 Slot requests are open: type !sr <slot>.", at: c.time)

        case .closeSlotQueue(let seed):
            guard games.slotQueueOpen else { throw Rejection(.slotQueueClosed, "the slot queue is not open") }
            try checkSlotSeed(seed)
            return [.game(.slotQueueClosed(round: games.slotRound, seed: seed))]
                + chat("🎰 Slot requests are closed.", at: c.time)

        case .pickSlot(let seed):
            guard games.slotRound > 0, !games.slotQueue.isEmpty else {
                throw Rejection(.noSlotRequests, "no slot request is waiting")
            }
            try checkSlotSeed(seed)
            let (number, overflow) = games.slotPicks.addingReportingOverflow(1)
            guard !overflow,
                let pick = SlotPicking.pick(
                    guild: guild, round: games.slotRound, pick: number, seed: seed, candidates: games.slotQueue)
            else { throw Rejection(.amountOverflow, "no pick numbers are left in this round") }
            let text =
                "🎰 Picked: \(pick.request.slot) (request #\(pick.request.number) by \(pick.request.username)), "
                + "pick \(pick.pick) of round \(pick.round) among \(pick.candidates)."
            return [.game(.slotPicked(pick))] + chat(text, at: c.time)

        case .skipSlotRequest(let number):
            guard games.slotQueue.contains(where: { $0.number == number }) else {
                throw Rejection(.unknownSlotRequest, "no waiting slot request has number \(number)")
            }
            return [.game(.slotRequestSkipped(number: number))]

        case .clearSlotQueue:
            return games.slotQueue.isEmpty ? [] : [.game(.slotQueueCleared(round: games.slotRound))]

        case .setSlotBlacklist(let slot, let blocked):
            let name = GamesState.normalisedSlot(slot)
            guard games.slotBlacklist.contains(name) != blocked else { return [] }
            return [.game(.slotBlacklistChanged(slot: name, blocked: blocked))]

        case .openGuess:
            guard !games.guessOpen else { throw Rejection(.guessOpen, "a guess-the-balance session is open already") }
            let (session, overflow) = games.guessSession.addingReportingOverflow(1)
            guard !overflow else { throw Rejection(.amountOverflow, "no session numbers are left") }
            return [.game(.guessOpened(session: session))]
                + chat("💰 Guess the balance: type !guess <amount>, e.g. !guess 1234.56. One guess each.", at: c.time)

        case .closeGuess:
            guard games.guessOpen else { throw Rejection(.noGuessSession, "no guess-the-balance session is open") }
            return [.game(.guessClosed(session: games.guessSession))]
                + chat("💰 Guesses are closed: \(games.guesses.count) taken.", at: c.time)

        case .resolveGuess(let text, let requested):
            guard games.guessSession > 0, games.lastGuessResult?.session != games.guessSession else {
                throw Rejection(.noGuessSession, "no guess-the-balance session waits for its result")
            }
            guard let result = MoneyAmount(parsing: text) else { throw Rejection(.invalidAmount, "not an amount") }
            let count = requested.map(Int64.init) ?? settings[.guessWinners]
            let ranked = games.guesses.map { chatter, guess in
                (chatter, guess, (guess.cents - result.cents).magnitude)
            }.sorted { ($0.2, $0.1.order) < ($1.2, $1.1.order) }
            let winners = ranked.prefix(Int(count)).map {
                GuessWinner(chatter: $0.0, username: $0.1.username, cents: $0.1.cents, distance: Int64($0.2))
            }
            let resolved = GuessResult(
                session: games.guessSession, cents: result.cents, winners: winners,
                guesses: UInt32(clamping: games.guesses.count))
            var events: [DomainEvent] = games.guessOpen ? [.game(.guessClosed(session: games.guessSession))] : []
            events.append(.game(.guessResolved(resolved)))
            return events + chat(GuildState.announcement(of: resolved), at: c.time)

        case .saveCustomCommand(let command):
            let name = command.name.lowercased()
            // Well formed, but taken: the built-in chat commands answer first.
            guard !GuildState.gameWords.contains(name), !ChatCommand.allCases.contains(where: { $0.name == name })
            else { throw Rejection(.nameTaken, "!\(name) is a built-in command") }
            var saved = command
            saved.name = name
            guard games.customCommands[name] != saved else { return [] }
            return [.game(.customCommandSaved(saved))]

        case .deleteCustomCommand(let name):
            guard games.customCommands[name.lowercased()] != nil else {
                throw Rejection(.unknownCustomCommand, "there is no command !\(name)")
            }
            return [.game(.customCommandDeleted(name: name.lowercased()))]

        case .saveTimedMessage(let message):
            var saved = message
            if saved.id == 0 {
                let (id, overflow) = games.lastTimedMessage.addingReportingOverflow(1)
                guard !overflow else { throw Rejection(.amountOverflow, "no timed message ids are left") }
                saved.id = id
            } else if games.timedMessages[saved.id] == nil {
                throw Rejection(.unknownTimedMessage, "there is no timed message \(saved.id)")
            }
            guard games.timedMessages[saved.id] != saved else { return [] }
            return [.game(.timedMessageSaved(saved))]

        case .deleteTimedMessage(let id):
            guard games.timedMessages[id] != nil else {
                throw Rejection(.unknownTimedMessage, "there is no timed message \(id)")
            }
            return [.game(.timedMessageDeleted(id: id))]

        case .sendTimedMessages:
            let due = dueTimedMessages(at: c.time)
            var events: [DomainEvent] = []
            for message in due {
                events.append(.game(.timedMessageSent(id: message.id)))
                events += chat(message.text, at: c.time, after: events)
            }
            return events
        }
    }

    /// The timed messages due at `time`, in id order: none unless the channel is connected, the stream
    /// is live and at least 2 people chatted in the last 5 minutes. A message is due an interval after
    /// it last went out; intervals missed while nobody chatted (or the service was down) are not made
    /// up for, so a restart sends each message at most once.
    public func dueTimedMessages(at time: Timestamp) -> [TimedMessage] {
        guard kickChannel != nil, tracking != .forcedOff, isLive || tracking == .forcedOn else { return [] }
        let since = time.rawValue - 5 * 60_000
        guard lastSpoke.values.lazy.filter({ $0.rawValue >= since }).prefix(2).count >= 2 else { return [] }
        return games.timedMessages.values.filter { message in
            let last = games.timedMessageSentAt[message.id]?.rawValue ?? Int64.min / 2
            return time.rawValue - last >= message.intervalMinutes * 60_000
        }.sorted { $0.id < $1.id }
    }

    /// Whether the slot queue's seed matches its round's commitment.
    private func checkSlotSeed(_ seed: [UInt8]) throws {
        guard SlotPicking.commitment(for: seed) == games.slotCommitment else {
            throw Rejection(.seedMismatch, "the seed does not match the slot round's commitment")
        }
    }

    /// A message in the connected channel's Kick chat (none when no channel is connected), numbered
    /// after the deliveries among `earlier`.
    func chat(_ text: String, at time: Timestamp, replyTo: String? = nil, after earlier: [DomainEvent] = [])
        -> [DomainEvent]
    {
        guard let channel = kickChannel else { return [] }
        let last = earlier.reduce(lastDelivery.rawValue) { last, event in
            if case .deliveryRequested(let d) = event { return max(last, d.id.rawValue) }
            return last
        }
        let content = GuildState.truncated(text, to: GuildState.kickChatLimit)
        return [
            .deliveryRequested(
                Delivery(
                    id: DeliveryID(last + 1),
                    destination: .kickChat(broadcaster: channel.broadcaster, content: content, replyTo: replyTo),
                    requestedAt: time))
        ]
    }

    /// What a resolved guess session says in chat and Discord.
    public static func announcement(of result: GuessResult) -> String {
        let places = result.winners.enumerated().map { i, w in
            "\(i + 1). \(w.username) (\(MoneyAmount.format(w.cents)), off by \(MoneyAmount.format(w.distance)))"
        }
        return "💰 The balance was \(MoneyAmount.format(result.cents)). "
            + (places.isEmpty ? "Nobody guessed." : "Closest of \(result.guesses): " + places.joined(separator: " "))
    }

    /// A chat message that is a game's (`!sr`, `!call`, `!guess`, or a custom command): its events, or
    /// nil when it is none of them. Refusals are answered in chat at most once per chat-command
    /// cooldown per chatter.
    func chatGame(
        _ chatter: KickUserID, username: String, message: String, messageID: String, _ c: CommandContext
    ) throws -> [DomainEvent]? {
        guard message.hasPrefix("!"), kickChannel != nil else { return nil }
        let body = message.dropFirst()
        let word = body.prefix { !$0.isWhitespace }.lowercased()
        let rest = body.dropFirst(word.count).trimmingWhitespace()
        let time = c.time
        func reply(_ text: String) -> [DomainEvent] { chat("@\(username) " + text, at: time, replyTo: messageID) }
        func refuse(_ text: String) -> [DomainEvent] {
            if let last = lastChatCommand[chatter],
                time.rawValue - last.rawValue < settings[.chatCommandCooldownSeconds] * 1000
            {
                return []
            }
            return [.chatCommandUsed(chatter, command: word)] + reply(text)
        }
        switch word {
        case "sr", "call":
            guard games.slotQueueOpen else { return refuse("slot requests are closed.") }
            guard !rest.isEmpty, rest.utf8.count <= GuildState.slotNameLimit else {
                return refuse("name a slot: !\(word) <slot> (at most \(GuildState.slotNameLimit) characters).")
            }
            let name = GamesState.normalisedSlot(rest)
            if games.slotBlacklist.contains(name) { return refuse("\(rest) cannot be requested.") }
            if let last = games.lastSlotRequest[chatter],
                time.rawValue - last.rawValue < settings[.slotRequestCooldownSeconds] * 1000
            {
                return []
            }
            let cap = settings[.slotRequestCap]
            if cap > 0, games.slotQueue.lazy.filter({ $0.chatter == chatter }).count >= cap {
                return refuse("you have \(cap) request\(cap == 1 ? "" : "s") waiting already.")
            }
            if settings[.slotRequestRefuseDuplicates] == 1,
                games.slotQueue.contains(where: { GamesState.normalisedSlot($0.slot) == name })
            {
                return refuse("\(rest) is in the queue already.")
            }
            let (number, overflow) = games.lastSlotNumber.addingReportingOverflow(1)
            guard !overflow else { throw Rejection(.amountOverflow, "no slot request numbers are left") }
            let request = SlotRequest(number: number, chatter: chatter, username: username, slot: rest)
            return [.game(.slotRequested(request))]
                + reply("\(rest) is #\(games.slotQueue.count + 1) in the queue (request \(number)).")
        case "guess":
            guard games.guessOpen else { return refuse("no guess-the-balance is open right now.") }
            guard let amount = MoneyAmount(parsing: rest) else {
                return refuse("a guess is an amount above 0 and at most 999,999,999,999.99, like !guess 1234.56.")
            }
            return [
                .game(
                    .guessRecorded(
                        session: games.guessSession, chatter: chatter, username: username, cents: amount.cents))
            ]
        default:
            guard let command = games.customCommands[word] else { return nil }
            if let last = games.customCommandUsedAt[word],
                time.rawValue - last.rawValue < command.cooldownSeconds * 1000
            {
                return []
            }
            // Saved templates were checked when saved; one that no longer parses answers nothing.
            guard let template = try? ChatTemplate(parsing: command.template) else { return [] }
            let text = template.render(variables(for: chatter, username: username))
            guard !text.isEmpty else { return [] }
            return [.game(.customCommandUsed(name: word))] + chat(text, at: time, replyTo: messageID)
        }
    }

    /// The values of a custom command's variables for the person behind `chatter`.
    func variables(for chatter: KickUserID, username: String) -> [String: String] {
        let owner = owner(of: chatter)
        let me = person(owner)
        let ahead = people.values.lazy.filter { $0.points > me.points }.count
        return [
            "user": username, "points": GuildState.grouped(me.points),
            "watchtime": "\(me.minutes / 60)h \(me.minutes % 60)m", "tickets": GuildState.grouped(me.totalTickets),
            "rank": me.points > 0 ? "#\(ahead + 1)" : "unranked",
        ]
    }
}

extension Substring {
    /// Without leading and trailing whitespace.
    func trimmingWhitespace() -> String {
        guard let first = firstIndex(where: { !$0.isWhitespace }), let last = lastIndex(where: { !$0.isWhitespace })
        else { return "" }
        return String(self[first...last])
    }
}
