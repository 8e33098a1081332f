import Crypto
public import EventLog

/// The provably fair draw: anyone with a period's events can recompute its winners.
///
/// 1. When a period opens, the guild publishes `commitment = SHA-256(seed)`; the seed stays secret.
/// 2. At a draw the seed is revealed and must hash to the commitment, so it cannot have been chosen
///    after the tickets were seen.
/// 3. Participants are people with tickets > 0, minus exclusions and earlier winners of the period,
///    sorted by ``PersonID`` (Discord users by id, then chatters by id); each holds the ticket
///    range `[sum of tickets before them, + their tickets)`.
/// 4. `r = SHA-256(seed ‖ "tally-raffle-v1" ‖ guild ‖ period ‖ draw number)` (integers big-endian);
///    the winning ticket is the first 8 bytes of `r`, big-endian, modulo the total (bias below
///    total / 2⁶⁴), and its holder wins.
public enum RaffleDrawing {
    public static func commitment(for seed: [UInt8]) -> [UInt8] { Array(SHA256.hash(data: seed)) }

    /// A period's seed, derived from the deployment's secret so it never needs storing:
    /// HMAC-SHA-256(secret, "tally-raffle-seed" ‖ guild ‖ period).
    public static func seed(secret: [UInt8], guild: GuildID, period: PeriodID) -> [UInt8] {
        var message = Array("tally-raffle-seed".utf8)
        message += bigEndian(guild.rawValue) + bigEndian(UInt64(period.rawValue))
        return Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: secret)))
    }

    /// The ordered participants of a draw with their tickets.
    public static func participants(
        in state: GuildState, excludingWinners winners: Set<PersonID>
    ) -> [(person: PersonID, tickets: Int64)] {
        state.people.compactMap { id, p -> (PersonID, Int64)? in
            let t = p.totalTickets
            return t > 0 && !p.excluded && !winners.contains(id) ? (id, t) : nil
        }.sorted { $0.0 < $1.0 }
    }

    /// Draws one winner from `participants`; nil when nobody holds a ticket.
    public static func draw(
        guild: GuildID, period: PeriodID, number: UInt32, seed: [UInt8],
        participants: [(person: PersonID, tickets: Int64)]
    ) -> RaffleDraw? {
        var total: Int64 = 0
        for p in participants {
            // The rules keep the total within Int64; a total past it is refused rather than trapped on.
            let (sum, overflow) = total.addingReportingOverflow(p.tickets)
            guard !overflow else { return nil }
            total = sum
        }
        guard total > 0 else { return nil }
        var hasher = SHA256()
        hasher.update(data: seed)
        hasher.update(data: Array("tally-raffle-v1".utf8))
        hasher.update(data: bigEndian(guild.rawValue) + bigEndian(UInt64(period.rawValue)) + bigEndian(UInt64(number)))
        let r = Array(hasher.finalize())
        let value = r[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let winningTicket = Int64(value % UInt64(total))
        var start: Int64 = 0
        var winner = participants[0]
        for p in participants {
            if winningTicket < start + p.tickets {
                winner = p
                break
            }
            start += p.tickets
        }
        return RaffleDraw(
            period: period, number: number, seed: seed, totalTickets: total, winningTicket: winningTicket,
            winner: winner.person, winnerTickets: winner.tickets, participants: UInt32(participants.count),
            participantsDigest: digest(participants))
    }

    /// SHA-256 over each participant's kind byte, id and tickets (big-endian), in order.
    public static func digest(_ participants: [(person: PersonID, tickets: Int64)]) -> [UInt8] {
        var hasher = SHA256()
        for p in participants {
            switch p.person {
            case .discord(let u): hasher.update(data: [0] + bigEndian(u.rawValue))
            case .kick(let k): hasher.update(data: [1] + bigEndian(k.rawValue))
            }
            hasher.update(data: bigEndian(UInt64(bitPattern: p.tickets)))
        }
        return Array(hasher.finalize())
    }

    private static func bigEndian(_ v: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: v >> (56 - 8 * $0)) }
    }
}
