import Discord
import Domain
import EventLog

extension DiscordIngress {
    /// The chat games' admin paths (the `list` sub-commands are for everyone).
    static let gameAdminPaths: Set<[String]> = [
        ["slots", "open"], ["slots", "close"], ["slots", "pick"], ["slots", "skip"], ["slots", "clear"],
        ["slots", "blacklist"], ["guess", "open"], ["guess", "close"], ["guess", "result"], ["commands", "set"],
        ["commands", "delete"], ["commands", "list"], ["timers", "set"], ["timers", "delete"], ["timers", "list"],
        ["overlay"],
    ]

    /// Answers a chat-game command (`/slots`, `/guess`, `/commands`, `/timers`, `/overlay`); nil for
    /// any other path.
    func gameCommand(_ call: Call, _ state: GuildState, _ path: [String], _ options: [String: Interaction.Value])
        async throws -> InteractionResponse?
    {
        func int(_ name: String) -> Int64? {
            guard let value = options[name] else { return nil }
            if case .integer(let i) = value { return i }
            return Int64(value.text)
        }
        func text(_ name: String) throws -> String {
            guard let value = options[name]?.text else {
                throw Rejection(.invalidText, "the option \(name) is missing")
            }
            return value
        }
        func run(_ command: GameCommand) async throws -> PartitionOwner.Outcome {
            try await call.handle(.game(command))
        }
        let games = state.games
        switch path {
        case ["slots", "list"]:
            return .message(Self.slotList(games), ephemeral: true)
        case ["slots", "open"]:
            let seeds = try await call.node.slotSeeds(for: call.guild)
            let commitment = SlotPicking.commitment(for: seeds.next)
            let outcome = try await run(.openSlotQueue(commitment: commitment))
            return .message(
                outcome.duplicate
                    ? "Already done."
                    : "Slot requests are open (round \(games.slotRound + 1)). The picks' seed is committed: SHA-256 "
                        + "`\(Hex.encode(commitment))`; closing the queue reveals it.")
        case ["slots", "close"]:
            let seeds = try await call.node.slotSeeds(for: call.guild)
            let outcome = try await run(.closeSlotQueue(seed: seeds.current))
            return .message(
                outcome.duplicate
                    ? "Already done."
                    : "Slot requests are closed. Round \(games.slotRound)'s seed is `\(Hex.encode(seeds.current))`: "
                        + "`tally slots verify` recomputes every pick.")
        case ["slots", "pick"]:
            let seeds = try await call.node.slotSeeds(for: call.guild)
            let outcome = try await run(.pickSlot(seed: seeds.current))
            guard
                let pick = outcome.events.compactMap({ stored -> SlotPick? in
                    if case .game(.slotPicked(let pick)) = stored.event { return pick }
                    return nil
                }).first
            else { return .message("Already done.", ephemeral: true) }
            return .message(
                "🎰 \(pick.request.slot) — request #\(pick.request.number) by \(pick.request.username) (pick \(pick.pick) "
                    + "of round \(pick.round), among \(pick.candidates)).")
        case ["slots", "skip"]:
            let number = UInt32(clamping: int("number") ?? 0)
            _ = try await run(.skipSlotRequest(number: number))
            return .message("Request #\(number) skipped.", ephemeral: true)
        case ["slots", "clear"]:
            _ = try await run(.clearSlotQueue)
            return .message("The slot queue is empty.", ephemeral: true)
        case ["slots", "blacklist"]:
            let slot = try text("slot")
            let blocked = options["blocked"] != .bool(false)
            _ = try await run(.setSlotBlacklist(slot: slot, blocked: blocked))
            return .message("\(slot) is \(blocked ? "refused" : "allowed again").", ephemeral: true)
        case ["guess", "list"]:
            return .message(Self.guessList(games), ephemeral: true)
        case ["guess", "open"]:
            let outcome = try await run(.openGuess)
            return .message(outcome.duplicate ? "Already done." : "Guessing is open: viewers type !guess <amount>.")
        case ["guess", "close"]:
            _ = try await run(.closeGuess)
            return .message("Guessing is closed (\(games.guesses.count) guesses).")
        case ["guess", "result"]:
            let winners = int("winners").map { Int(clamping: $0) }
            let outcome = try await run(.resolveGuess(result: try text("amount"), winners: winners))
            guard
                let result = outcome.events.compactMap({ stored -> GuessResult? in
                    if case .game(.guessResolved(let result)) = stored.event { return result }
                    return nil
                }).first
            else { return .message("Already done.", ephemeral: true) }
            return .message(GuildState.announcement(of: result))
        case ["commands", "set"]:
            let name = try text("name").trimmingCharacters(in: ["!", " "])
            let command = CustomCommand(name: name, template: try text("reply"), cooldownSeconds: int("cooldown") ?? 0)
            _ = try await run(.saveCustomCommand(command))
            return .message("!\(name.lowercased()) is saved.", ephemeral: true)
        case ["commands", "delete"]:
            let name = try text("name").trimmingCharacters(in: ["!", " "])
            _ = try await run(.deleteCustomCommand(name: name))
            return .message("!\(name.lowercased()) is deleted.", ephemeral: true)
        case ["commands", "list"]:
            let rows = games.customCommands.values.sorted { $0.name < $1.name }.map {
                "!\($0.name) (cooldown \($0.cooldownSeconds) s): \($0.template)"
            }
            return .message(rows.isEmpty ? "No custom commands yet." : rows.joined(separator: "\n"), ephemeral: true)
        case ["timers", "set"]:
            let message = TimedMessage(
                id: UInt32(clamping: int("id") ?? 0), text: try text("text"), intervalMinutes: int("minutes") ?? 0)
            let outcome = try await run(.saveTimedMessage(message))
            let id = outcome.events.compactMap { stored -> UInt32? in
                if case .game(.timedMessageSaved(let saved)) = stored.event { return saved.id }
                return nil
            }.first
            return .message(
                id.map { "Timed message \($0) is saved: every \(message.intervalMinutes) min while live." }
                    ?? "Nothing changed.", ephemeral: true)
        case ["timers", "delete"]:
            let id = UInt32(clamping: int("id") ?? 0)
            _ = try await run(.deleteTimedMessage(id: id))
            return .message("Timed message \(id) is deleted.", ephemeral: true)
        case ["timers", "list"]:
            let rows = games.timedMessages.values.sorted { $0.id < $1.id }.map {
                "\($0.id): every \($0.intervalMinutes) min — \($0.text)"
            }
            return .message(rows.isEmpty ? "No timed messages yet." : rows.joined(separator: "\n"), ephemeral: true)
        case ["overlay"]:
            let key = call.node.overlayKey(for: call.guild)
            let base = "\(publicBaseURL)/overlay/\(call.guild)"
            let lines = OverlayKind.all.map { "\($0.title): \(base)/\($0.name)?key=\(key)" }
            return .message(
                "Browser sources for OBS (keep the key private; it only reads):\n" + lines.joined(separator: "\n")
                    + "\nOptions: &theme=light|dark, &size=small|medium|large, &board=points|watchtime.",
                ephemeral: true)
        default:
            return nil
        }
    }

    static func slotList(_ games: GamesState) -> String {
        var lines = [
            games.slotRound == 0
                ? "Slot requests have never been opened."
                : "Slot requests are \(games.slotQueueOpen ? "open" : "closed") (round \(games.slotRound), "
                    + "commitment `\(Hex.encode(games.slotCommitment))`)."
        ]
        for (i, request) in games.slotQueue.prefix(20).enumerated() {
            lines.append("\(i + 1). #\(request.number) \(request.slot) — \(request.username)")
        }
        if games.slotQueue.count > 20 { lines.append("… and \(games.slotQueue.count - 20) more.") }
        if let pick = games.lastSlotPick {
            lines.append("Last pick: \(pick.request.slot) by \(pick.request.username).")
        }
        return lines.joined(separator: "\n")
    }

    static func guessList(_ games: GamesState) -> String {
        guard games.guessSession > 0 else { return "Guess the balance has never been opened." }
        var lines = [
            "Guess the balance #\(games.guessSession) is \(games.guessOpen ? "open" : "closed"): "
                + "\(games.guesses.count) guesses."
        ]
        for guess in games.guesses.values.sorted(by: { $0.order < $1.order }).suffix(15) {
            lines.append("\(guess.username): \(MoneyAmount.format(guess.cents))")
        }
        if let result = games.lastGuessResult, result.session == games.guessSession {
            lines.append(GuildState.announcement(of: result))
        }
        return lines.joined(separator: "\n")
    }
}
