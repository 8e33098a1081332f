import Domain
import EventLog
import Shard

/// A raffle period that ended an hour ago, closed with its seed and with its drand beacon recorded,
/// with `tickets` for each person: what a draw needs (only closed periods whose beacon is out are
/// drawn), set up through the node with the times it happened at.
func prepareEndedPeriod(
    node: ShardNode, guild: GuildID, secret: [UInt8], tickets: [PersonID: Int64]
) async throws {
    let start = Timestamp.now.rawValue - 2 * 3_600_000
    let end = start + 3_600_000
    let seed = RaffleDrawing.seed(secret: secret, guild: guild, period: PeriodID(1))
    func handle(_ command: Command, _ key: String, at time: Int64) async throws {
        _ = try await node.handle(
            command, guild: guild, context: CommandContext(key: key, time: Timestamp(milliseconds: time)))
    }
    try await handle(
        .openRafflePeriod(
            startsAt: Timestamp(milliseconds: start), endsAt: Timestamp(milliseconds: end),
            seedCommitment: RaffleDrawing.commitment(for: seed)), "test-period-open", at: start)
    for (person, amount) in tickets.sorted(by: { $0.key < $1.key }) {
        try await handle(
            .grantTickets(person, amount: amount, reason: "test"), "test-tickets-\(person)", at: start + 60_000)
    }
    // The timers may already have closed it; a second close is then refused, which is fine.
    try? await handle(.closeRafflePeriod(seed: seed), "test-period-close", at: end + 1_000)
    let round = try await node.owner(for: guild).state(of: guild)!.raffle.periods[PeriodID(1)]!.beaconRound
    try await handle(
        .recordBeacon(period: PeriodID(1), round: round, value: Array(repeating: 0x5A, count: 32)), "test-beacon",
        at: Timestamp.now.rawValue)
}
