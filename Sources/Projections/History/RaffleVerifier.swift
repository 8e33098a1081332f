public import Domain
public import EventLog
import Partition

/// Recomputes an announced draw from the log: `tally raffle verify`.
public struct RaffleVerification: Sendable {
    public var announced: RaffleDraw
    /// The draw recomputed from the period's frozen table, the revealed seed and the recorded beacon
    /// (version 1 draws: from the live tickets at the draw and the seed alone).
    public var recomputed: RaffleDraw?
    /// SHA-256 of the revealed seed equals the commitment published when the period opened.
    public var seedMatchesCommitment: Bool
    public var commitment: [UInt8]

    public var matches: Bool { seedMatchesCommitment && recomputed == announced }
}

extension GuildHistory {
    /// Replays the guild's events up to the draw, recomputes the draw from the participants then
    /// and the revealed seed, and compares with what was announced.
    ///
    /// - Throws: ``ProjectionsError`` with code `notFound` when the guild has no such draw.
    public func verifyDraw(guild: GuildID, period: PeriodID, number: UInt32) throws -> RaffleVerification {
        var state = GuildState(guild: guild)
        var result: RaffleVerification? = nil
        try forEachEvent(guild: guild) { event in
            guard result == nil else { return }
            if case .raffleWinnerDrawn(let draw) = event.event, draw.period == period, draw.number == number {
                let earlier = Set((state.raffle.history[period] ?? []).map(\.winner))
                let recomputed: RaffleDraw?
                if draw.usesBeacon {
                    if let table = state.raffle.tables[period], let beacon = state.raffle.beacons[period],
                        let seed = state.raffle.revealedSeeds[period],
                        case .success(let d) = RaffleDrawing.draw(
                            guild: guild, period: period, number: number, serverSeed: seed, beacon: beacon,
                            table: table, earlierWinners: earlier, replaces: draw.replaces, reason: draw.reason)
                    {
                        recomputed = d
                    } else {
                        recomputed = nil
                    }
                } else {
                    let participants = RaffleDrawing.participants(in: state, excludingWinners: earlier)
                    recomputed = RaffleDrawing.draw(
                        guild: guild, period: period, number: number, seed: draw.seed, participants: participants)
                }
                let commitment = state.raffle.periods[period]?.seedCommitment ?? []
                result = RaffleVerification(
                    announced: draw, recomputed: recomputed,
                    seedMatchesCommitment: RaffleDrawing.commitment(for: draw.seed) == commitment,
                    commitment: commitment)
            }
            state.apply(event)
        }
        guard let result else {
            throw ProjectionsError(.notFound, "guild \(guild) has no draw \(number) in period \(period)")
        }
        return result
    }

    /// Every draw of the guild, in order, as (period, number).
    public func draws(guild: GuildID) throws -> [(period: PeriodID, number: UInt32)] {
        var out: [(PeriodID, UInt32)] = []
        try forEachEvent(guild: guild) { event in
            if case .raffleWinnerDrawn(let d) = event.event { out.append((d.period, d.number)) }
        }
        return out
    }
}
