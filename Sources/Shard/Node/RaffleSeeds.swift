public import Domain
public import EventLog

/// The seeds of a guild's raffle periods (or slot-request rounds) around now, derived from the
/// deployment's secret.
public struct RaffleSeeds: Sendable {
    /// The seed of the open (or last) period or round.
    public var current: [UInt8]
    /// The seed of the period or round the next open creates.
    public var next: [UInt8]

    /// No seeds: for commands that need none.
    public static let none = RaffleSeeds(current: [], next: [])

    /// The seeds of `period` and of the one after it.
    public init(secret: [UInt8], guild: GuildID, period: PeriodID) {
        current = RaffleDrawing.seed(secret: secret, guild: guild, period: period)
        next = RaffleDrawing.seed(secret: secret, guild: guild, period: PeriodID(period.rawValue + 1))
    }

    init(current: [UInt8], next: [UInt8]) {
        self.current = current
        self.next = next
    }
}

extension ShardNode {
    /// The seeds of `guild`'s last (or open) period and the next one, from this deployment's secret.
    public func raffleSeeds(for guild: GuildID) async throws -> RaffleSeeds {
        let period = try await owner(for: guild).state(of: guild)?.raffle.lastPeriod ?? PeriodID(0)
        return RaffleSeeds(secret: configuration.raffleSecret, guild: guild, period: period)
    }
}

extension ShardNode {
    /// The seeds of `guild`'s newest slot-request round and the next one, from this deployment's secret.
    public func slotSeeds(for guild: GuildID) async throws -> RaffleSeeds {
        let round = try await owner(for: guild).state(of: guild)?.games.slotRound ?? 0
        let secret = configuration.raffleSecret
        return RaffleSeeds(
            current: SlotPicking.seed(secret: secret, guild: guild, round: round),
            next: SlotPicking.seed(secret: secret, guild: guild, round: round &+ 1))
    }
}
