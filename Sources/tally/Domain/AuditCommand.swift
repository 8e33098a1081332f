import ArgumentParser
import Domain
import EventLog
import Foundation
import Partition
import Projections

/// `tally audit DIR|--store URL --guild G [--user U] [--until TIME|OFFSET]`
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract:
            "Print every change to people's points, tickets and minutes in a guild, with reasons and running totals.",
        discussion: "Read from the log through its guild index. --user takes a Discord id, discord:ID or kick:ID."
    )

    @OptionGroup var source: StoreOptions

    @Option(help: "The guild (Discord snowflake).")
    var guild: UInt64

    @Option(help: "Only this person.")
    var user: String?

    @Option(help: "Stop at this offset (exclusive) or time (inclusive, e.g. 2026-12-01T12:00Z).")
    var until: String?

    @Option(help: "Print at most the last N entries.")
    var last: Int?

    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let g = GuildID(guild)
        let person = try user.map { text -> PersonID in
            guard let p = PersonID(parsing: text) else {
                throw ValidationError("--user must be a Discord id, discord:ID or kick:ID")
            }
            return p
        }
        let point = try until.map { text -> HistoryPoint in
            guard let p = HistoryPoint(parsing: text) else {
                throw ValidationError("--until must be an offset or a time")
            }
            return p
        }
        let (guild, last) = (self.guild, self.last)
        try await withHistory(source, guild: g, logging: logging) { history in
            var entries = try history.audit(guild: g, person: person, until: point)
            if entries.isEmpty {
                print(
                    "no changes for \(person.map(\.description) ?? "anyone") in guild \(guild)\(point.map { " up to \($0)" } ?? "")"
                )
                return
            }
            if let last, entries.count > last { entries = Array(entries.suffix(last)) }
            print("offset\ttime\tperson\tevent\tactor\tpoints\ttickets\tminutes\treason")
            func signed(_ v: Int64, _ total: Int64) -> String {
                v == 0 ? "\(total)" : "\(total) (\(v > 0 ? "+" : "")\(v))"
            }
            for e in entries {
                print(
                    "\(e.offset)\t\(e.timestamp)\t\(e.person)\t\(e.event)\t\(e.actor)\t\(signed(e.pointsDelta, e.points))\t"
                        + "\(signed(e.ticketsDelta, e.tickets))\t\(signed(e.minutesDelta, e.minutes))\t\(e.reason)")
            }
            if let person {
                let state = try history.state(guild: g, asOf: point).person(person)
                print(
                    "# \(person): \(state.points) points, \(state.totalTickets) tickets, \(state.minutes) minutes\(point.map { " as of \($0)" } ?? "")"
                )
            }
        }
    }
}

/// `tally raffle verify DIR|--store URL --guild G --draw D`
struct RaffleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "raffle", abstract: "Raffle tools.", subcommands: [VerifyDraw.self])

    struct VerifyDraw: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract:
                "Recompute a raffle draw from the log and say whether it matches what was announced (exit 1 if not).",
            discussion: "D is PERIOD:NUMBER (e.g. 3:1), or N for the guild's Nth draw overall."
        )

        @OptionGroup var source: StoreOptions

        @Option(help: "The guild (Discord snowflake).")
        var guild: UInt64

        @Option(help: "The draw: PERIOD:NUMBER or N.")
        var draw: String

        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            let (guild, draw) = (self.guild, self.draw)
            let g = GuildID(guild)
            try await withHistory(source, guild: g, logging: logging) { history in
                try Self.verify(history, guild: g, draw: draw)
            }
        }

        static func verify(_ history: GuildHistory, guild g: GuildID, draw: String) throws {
            let guild = g.rawValue
            let (period, number): (PeriodID, UInt32)
            let parts = draw.split(separator: ":")
            if parts.count == 2, let a = UInt32(parts[0]), let b = UInt32(parts[1]) {
                (period, number) = (PeriodID(a), b)
            } else if parts.count == 1, let n = Int(parts[0]), n >= 1 {
                let all = try history.draws(guild: g)
                guard n <= all.count else { throw ValidationError("guild \(guild) has \(all.count) draw(s)") }
                (period, number) = all[n - 1]
            } else {
                throw ValidationError("--draw must be PERIOD:NUMBER or N")
            }
            let v = try history.verifyDraw(guild: g, period: period, number: number)
            print("draw \(period):\(number) of guild \(guild)")
            print("  commitment (published at open): \(hexString(v.commitment))")
            print("  revealed seed:                  \(hexString(v.announced.seed))")
            print("  SHA-256(seed) matches commitment: \(v.seedMatchesCommitment ? "yes" : "NO")")
            if v.announced.usesBeacon {
                let label = "  drand round \(v.announced.beaconRound):"
                print(label.padding(toLength: 34, withPad: " ", startingAt: 0) + hexString(v.announced.beacon))
                print("  frozen table digest:            \(hexString(v.announced.participantsDigest))")
            }
            if v.announced.replaces != 0 {
                print("  rerolls draw \(v.announced.replaces): \(v.announced.reason)")
            }
            print(
                "  announced:  winner \(v.announced.winner), ticket \(v.announced.winningTicket) of \(v.announced.totalTickets), "
                    + "\(v.announced.participants) participants")
            if let r = v.recomputed {
                print(
                    "  recomputed: winner \(r.winner), ticket \(r.winningTicket) of \(r.totalTickets), \(r.participants) participants"
                )
            } else {
                print("  recomputed: nobody held a ticket")
            }
            print(
                v.matches
                    ? "VERIFIED: the draw matches the log" : "MISMATCH: the announced draw does not follow from the log"
            )
            if !v.matches { throw ExitCode(1) }
        }
    }
}

func hexString(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

/// Runs `body` on the I/O pool (history reads block) with the history of the partition holding
/// `guild`, read-only, in the data directory or PostgreSQL store `source` names.
func withHistory(
    _ source: StoreOptions, guild: GuildID, logging: LoggingOptions,
    _ body: @escaping @Sendable (GuildHistory) throws -> Void
) async throws {
    let logger = logging.makeLogger()
    try await source.withStore(logger: logger) { store in
        let p = DataDirectory.partition(for: guild, count: store.partitionCount)
        guard try await store.existingPartitions().contains(p) else {
            throw ValidationError("guild \(guild) has no history in \(store.location)")
        }
        let history = GuildHistory(log: try await store.openForReading(partition: p, logger: logger).blockingReader())
        try await BlockingIOPool.shared.run { try body(history) }
    }
}

/// The history of the partition holding `guild` in a data directory, read-only.
func openHistory(_ data: DataDirectory, guild: GuildID, logging: LoggingOptions) throws -> GuildHistory {
    let p = data.partition(for: guild)
    guard FileManager.default.fileExists(atPath: data.directory(of: p)) else {
        throw ValidationError("guild \(guild) has no history in \(data.path)")
    }
    return GuildHistory(
        log: try PartitionLog.openForReading(
            directory: data.directory(of: p), partition: p, logger: logging.makeLogger()))
}
