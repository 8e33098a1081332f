import ArgumentParser
import Domain
import EventLog

/// `tally slots verify DIR --guild G [--round R]`
struct SlotsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "slots", abstract: "Slot-request tools.", subcommands: [VerifyPicks.self])

    struct VerifyPicks: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Recompute every slot pick from the log and say whether each matches (exit 1 if one does not).",
            discussion: """
                A round's picks can be checked once the round is closed: the close reveals the seed its opening \
                committed to. Picks of a round still open are listed as pending.
                """
        )

        @Argument(help: "The data directory.")
        var directory: String

        @Option(help: "The guild (Discord snowflake).")
        var guild: UInt64

        @Option(help: "Only this round.")
        var round: UInt32?

        @OptionGroup var logging: LoggingOptions

        func run() throws {
            let data = try openDataDirectory(directory)
            let g = GuildID(guild)
            let history = try openHistory(data, guild: g, logging: logging)
            var events: [DomainEvent] = []
            try history.forEachEvent(guild: g) { events.append($0.event) }
            let checks = SlotPicking.verify(guild: g, events: events).filter {
                round == nil || $0.announced.round == round
            }
            guard !checks.isEmpty else {
                print("no slot picks in guild \(guild)\(round.map { " round \($0)" } ?? "")")
                return
            }
            var failed = 0
            for check in checks {
                let pick = check.announced
                print(
                    "round \(pick.round) pick \(pick.pick): request #\(pick.request.number) \(pick.request.slot) "
                        + "by \(pick.request.username), index \(pick.index) of \(pick.candidates)")
                print("  commitment (published at open): \(hexString(check.commitment))")
                guard let seed = check.seed else {
                    print("  PENDING: the round is still open; its close reveals the seed")
                    continue
                }
                print("  revealed seed:                  \(hexString(seed))")
                print("  SHA-256(seed) matches commitment: \(check.seedMatchesCommitment ? "yes" : "NO")")
                print("  waiting requests match the log:   \(check.candidatesMatch ? "yes" : "NO")")
                if let r = check.recomputed {
                    print("  recomputed: request #\(r.request.number), index \(r.index) of \(r.candidates)")
                }
                print(check.matches ? "  VERIFIED" : "  MISMATCH: the pick does not follow from the log")
                if !check.matches { failed += 1 }
            }
            if failed > 0 { throw ExitCode(1) }
        }
    }
}
