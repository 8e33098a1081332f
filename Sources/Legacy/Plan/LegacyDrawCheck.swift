import Crypto

/// The old bot's draw, recomputed: participants are the period's ticket rows (by `raffle_tickets.id`)
/// with tickets, minus `raffle_exclusions`; the client seed is `period:total:participants`; the nonce
/// the period id; the winning ticket `int(sha256("seed:client:nonce")[:16], 16) % total + 1`, held by
/// the participant whose range of tickets contains it.
public enum LegacyDrawCheck {
    /// `verified`, `mismatch: …` (the data contradicts the draw) or `unverifiable: …` (the data
    /// needed is gone).
    public static func verify(
        draw: LegacyDrawRow, period: LegacyPeriodRow, tickets: [LegacyTicketRow], exclusions: [LegacyExclusion]
    ) -> String {
        guard let seed = draw.serverSeed ?? period.serverSeed, !seed.isEmpty else {
            return "unverifiable: no server seed stored"
        }
        if let commitment = draw.commitment ?? period.commitment, !commitment.isEmpty,
            hex(SHA256.hash(data: Array(seed.utf8))) != commitment.lowercased()
        {
            return "mismatch: SHA-256 of the server seed is not the period's commitment"
        }
        guard let client = draw.clientSeed, let nonce = draw.nonce else {
            return "unverifiable: no client seed or nonce stored"
        }
        guard draw.totalTickets > 0 else { return "mismatch: a draw over 0 tickets" }
        let digest = hex(SHA256.hash(data: Array("\(seed):\(client):\(nonce)".utf8)))
        guard let value = UInt64(digest.prefix(16), radix: 16) else { return "mismatch: unreadable digest" }
        let winning = Int64(value % UInt64(draw.totalTickets)) + 1
        guard winning == draw.winningTicket else {
            return "mismatch: the seeds give ticket \(winning), the draw says \(draw.winningTicket)"
        }
        let excludedIDs = Set(exclusions.compactMap { $0.discordID.flatMap { Int64($0) } })
        let excludedNames = Set(exclusions.compactMap { $0.kickUsername?.lowercased() })
        let participants = tickets.sorted { $0.id < $1.id }.filter {
            $0.total > 0 && !excludedIDs.contains($0.discordID) && !excludedNames.contains($0.kickName.lowercased())
        }
        guard !participants.isEmpty else {
            return "unverified: the ticket rows are gone; seeds and winning ticket \(winning) check out"
        }
        let total = participants.reduce(Int64(0)) { $0 + $1.total }
        guard total == draw.totalTickets, Int64(participants.count) == draw.participants else {
            return
                "unverifiable: the ticket rows now hold \(total) tickets of \(participants.count) participants, the draw \(draw.totalTickets) of \(draw.participants); seeds and winning ticket \(winning) check out"
        }
        let expectedClient = "\(period.id):\(draw.totalTickets):\(draw.participants)"
        if client != expectedClient, client != "\(period.number ?? period.id):\(draw.totalTickets):\(draw.participants)"
        {
            return "mismatch: client seed \(client) is not \(expectedClient)"
        }
        var upTo: Int64 = 0
        for p in participants {
            upTo += p.total
            if winning <= upTo {
                return p.discordID == draw.winnerDiscordID
                    ? "verified"
                    : "mismatch: ticket \(winning) belongs to Discord user \(p.discordID), not \(draw.winnerDiscordID)"
            }
        }
        return "mismatch: ticket \(winning) is past the last ticket"
    }

    static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        digest.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }
}
