import Crypto
public import EventLog

/// The provably fair draw: anyone with a period's published table and the beacon can recompute its
/// winners (`docs/raffle-verification.md` states the algorithm byte by byte).
///
/// 1. When a period opens it commits to `SHA-256(server seed)` and to a drand round published after
///    the period's end (``RafflePeriod/beaconRound``). The operator knows the server seed; nobody
///    knows the beacon's value before the round.
/// 2. The close freezes the period's ticket table (``RaffleTable``) and reveals the server seed,
///    which must hash to the commitment. Nothing that happens after the close changes the table.
/// 3. `record_beacon` puts the round's value in the log. A draw refuses to run without it.
/// 4. The draw seed is `SHA-256(server seed ‖ beacon value)`. Draw `k` of the period (extra winners and
///    rerolls alike take the next `k`) hashes
///    `SHA-256(draw seed ‖ "tally-raffle-v2" ‖ guild ‖ period ‖ k ‖ attempt)` (integers 8 bytes
///    big-endian, `attempt` from 0) and takes the first 8 bytes as an unsigned big-endian `v`; while
///    `v ≥ 2⁶⁴ − (2⁶⁴ mod total)` the next attempt is hashed (no modulo bias); the winning ticket is
///    `v mod total`.
/// 5. Participants are the table's entries that are not excluded and have not won an earlier draw of
///    the period, in table order; each holds `[tickets before it, + its tickets)`.
///
/// Draws logged before beacons existed (version 1 events) used
/// `SHA-256(seed ‖ "tally-raffle-v1" ‖ guild ‖ period ‖ number)` over the live tickets at the draw;
/// ``draw(guild:period:number:seed:participants:)`` still recomputes them.
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
            // Provisional names never hold tickets (only linked people and Kick accounts earn them);
            // hashed by their bytes all the same.
            case .kickName(let name): hasher.update(data: [3] + bigEndian(UInt64(name.utf8.count)) + Array(name.utf8))
            }
            hasher.update(data: bigEndian(UInt64(bitPattern: p.tickets)))
        }
        return Array(hasher.finalize())
    }

    // MARK: Version 2: frozen tables and the beacon

    /// The table a close freezes: everyone with tickets, in ``PersonID`` order.
    public static func table(of state: GuildState) -> RaffleTable {
        RaffleTable(
            entries: state.people.compactMap { id, p -> RaffleTable.Entry? in
                let entry = RaffleTable.Entry(person: id, tickets: p.tickets, excluded: p.excluded)
                // An entry whose sum overflows stays in: drawing it is then refused, not silently skewed.
                return entry.total.map { $0 > 0 } ?? true ? entry : nil
            }.sorted { $0.person < $1.person })
    }

    /// SHA-256 over each entry in order: kind byte (0 Discord, 1 Kick), id (8 bytes), tickets from
    /// watch time, gifted subs, the shop and admins (8 bytes each, signed), then 1 if excluded else 0.
    public static func digest(of table: RaffleTable) -> [UInt8] {
        var hasher = SHA256()
        for e in table.entries {
            switch e.person {
            case .discord(let u): hasher.update(data: [0] + bigEndian(u.rawValue))
            case .kick(let k): hasher.update(data: [1] + bigEndian(k.rawValue))
            // Provisional names never hold tickets (only linked people and Kick accounts earn them);
            // hashed by their bytes all the same.
            case .kickName(let name): hasher.update(data: [3] + bigEndian(UInt64(name.utf8.count)) + Array(name.utf8))
            }
            for i in 0..<4 { hasher.update(data: bigEndian(UInt64(bitPattern: e.tickets[i]))) }
            hasher.update(data: [e.excluded ? 1 : 0])
        }
        return Array(hasher.finalize())
    }

    /// `SHA-256(server seed ‖ beacon value)`.
    public static func drawSeed(serverSeed: [UInt8], beacon: [UInt8]) -> [UInt8] {
        Array(SHA256.hash(data: serverSeed + beacon))
    }

    /// Why a version 2 draw could not be made.
    public enum DrawFailure: Error, Sendable {
        /// No participant is left (everyone excluded, without tickets, or already a winner).
        case noParticipants
        /// The tickets add up beyond Int64.
        case overflow
    }

    /// Draw `number` of `period` from its frozen table, skipping `earlierWinners`.
    public static func draw(
        guild: GuildID, period: PeriodID, number: UInt32, serverSeed: [UInt8], beacon: RaffleBeacon,
        table: RaffleTable, earlierWinners: Set<PersonID>, replaces: UInt32 = 0, reason: String = ""
    ) -> Result<RaffleDraw, DrawFailure> {
        var participants: [(person: PersonID, tickets: Int64)] = []
        var total: Int64 = 0
        for e in table.entries where !e.excluded && !earlierWinners.contains(e.person) {
            guard let t = e.total else { return .failure(.overflow) }
            let (sum, overflow) = total.addingReportingOverflow(t)
            guard !overflow else { return .failure(.overflow) }
            total = sum
            participants.append((e.person, t))
        }
        guard total > 0 else { return .failure(.noParticipants) }
        let seed = drawSeed(serverSeed: serverSeed, beacon: beacon.value)
        let prefix =
            seed + Array("tally-raffle-v2".utf8) + bigEndian(guild.rawValue) + bigEndian(UInt64(period.rawValue))
            + bigEndian(UInt64(number))
        let t = UInt64(total)
        // The largest multiple of `total` that fits in 2⁶⁴: values at or above it are redrawn.
        let limit = UInt64.max - (UInt64.max % t + 1) % t
        var attempt: UInt64 = 0
        var value: UInt64
        repeat {
            let r = Array(SHA256.hash(data: prefix + bigEndian(attempt)))
            value = r[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            attempt += 1
        } while value > limit
        let winningTicket = Int64(value % t)
        var start: Int64 = 0
        var winner = participants[0]
        for p in participants {
            if winningTicket < start + p.tickets {
                winner = p
                break
            }
            start += p.tickets
        }
        return .success(
            RaffleDraw(
                period: period, number: number, seed: serverSeed, totalTickets: total, winningTicket: winningTicket,
                winner: winner.person, winnerTickets: winner.tickets, participants: UInt32(participants.count),
                participantsDigest: digest(of: table), beaconRound: beacon.round, beacon: beacon.value,
                replaces: replaces, reason: reason))
    }

    static func bigEndian(_ v: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: v >> (56 - 8 * $0)) }
    }
}
