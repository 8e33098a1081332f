public import Domain
public import EventLog

/// Generates a realistic stream of commands for many guilds — chat, streams going live and offline,
/// watch-time ticks, links, gifted subs, shop purchases, admin grants and raffle draws — for demos,
/// benchmarks and property tests. Deterministic for a seed.
public struct CommunitySimulator: Sendable {
    /// One command for one guild, with everything `decide` needs from outside.
    public struct Step: Sendable {
        public var guild: GuildID
        public var command: Command
        public var context: CommandContext

        public init(guild: GuildID, command: Command, context: CommandContext) {
            self.guild = guild
            self.command = command
            self.context = context
        }
    }

    public struct Configuration: Sendable {
        public var guilds: Int = 20
        public var chattersPerGuild: Int = 40
        public var seed: UInt64 = 1
        /// The deployment secret raffle seeds derive from.
        public var raffleSecret: [UInt8] = Array("tally-simulation-secret".utf8)
        /// Milliseconds since 1970 of the first simulated minute.
        public var start: Int64 = 1_796_083_200_000
        public init() {}
    }

    public let configuration: Configuration
    public let guilds: [GuildID]
    private var rng: SplitMix64
    private var clock: Int64
    private var pending: [Step] = []
    private var counter = 0
    private var minute = 0
    private var linkedUsers: [GuildID: [KickUserID: UserID]] = [:]
    /// The same users in link order (dictionary order differs between processes).
    private var linkedOrder: [GuildID: [UserID]] = [:]
    private var periods: [GuildID: UInt32] = [:]
    private var periodEnds: [GuildID: [PeriodID: Timestamp]] = [:]
    private var live: [GuildID: Bool] = [:]

    public init(_ configuration: Configuration) {
        self.configuration = configuration
        rng = SplitMix64(seed: configuration.seed)
        clock = configuration.start
        guilds = (0..<configuration.guilds).map { i in
            GuildID(UInt64(1_200_000_000_000 + i * 7919) << 22 | UInt64(i & 0x3F_FFFF))
        }
    }

    /// A stand-in for drand's value of `round` (a simulation has no network): SHA-256 of the round.
    public static func simulatedBeacon(round: UInt64) -> [UInt8] {
        RaffleDrawing.commitment(for: Array("simulated-drand-round-\(round)".utf8))
    }

    /// The seed a guild's period uses (what the shard derives from its secret).
    public func raffleSeed(guild: GuildID, period: PeriodID) -> [UInt8] {
        RaffleDrawing.seed(secret: configuration.raffleSecret, guild: guild, period: period)
    }

    public var now: Timestamp { Timestamp(milliseconds: clock) }

    /// The next command.
    public mutating func next() -> Step {
        while pending.isEmpty { simulateMinute() }
        return pending.removeFirst()
    }

    private mutating func emit(
        _ guild: GuildID, _ command: Command, key: String? = nil, actor: UserID = .unknown, at offset: Int64 = 0
    ) {
        counter += 1
        // Who would issue it: Discord users (admins included) by interaction, the timer its ticks,
        // Kick everything else.
        let origin: Actor =
            if actor != .unknown { .discord(actor) } else if case .tick = command { .timer } else { .kick }
        let context = CommandContext(
            key: key ?? "sim-\(configuration.seed)-\(counter)", time: Timestamp(milliseconds: clock + offset),
            actor: actor, origin: origin)
        pending.append(Step(guild: guild, command: command, context: context))
    }

    private mutating func simulateMinute() {
        let admin = UserID(1_000_000_000_000_000_001)
        if minute == 0 {
            for guild in guilds {
                emit(
                    guild,
                    .setRoleThreshold(
                        RoleThreshold(role: RoleID(guild.rawValue + 1), name: "Tier 1", minutes: 120, position: 1)),
                    actor: admin)
                emit(
                    guild,
                    .setRoleThreshold(
                        RoleThreshold(role: RoleID(guild.rawValue + 2), name: "Tier 2", minutes: 600, position: 2)),
                    actor: admin)
                emit(
                    guild,
                    .createShopItem(
                        ShopItem(id: ItemID(0), name: "10 raffle tickets", price: 20, kind: .raffleTickets(10))),
                    actor: admin)
                emit(
                    guild,
                    .createShopItem(
                        ShopItem(
                            id: ItemID(0), name: "Song request", price: 15, stock: 50, perPersonLimit: 2,
                            limitWindowSeconds: 3600,
                            requirementPrompt: "Which song?")), actor: admin)
                openPeriod(guild, admin: admin)
            }
        }
        minute += 1
        for (index, guild) in guilds.enumerated() {
            // Busier guilds (lower index) stream more and have more chatters.
            let weight = 1.0 / Double(index + 1)
            let isLive = live[guild] ?? false
            if !isLive, rng.chance(0.05 + 0.3 * weight) {
                live[guild] = true
                emit(guild, .setStreamStatus(live: true))
            } else if isLive, rng.chance(0.01) {
                live[guild] = false
                emit(guild, .setStreamStatus(live: false))
            }
            guard live[guild] ?? false else { continue }
            let population = max(3, Int(Double(configuration.chattersPerGuild) * (0.3 + weight)))
            let speakers = 1 + Int(rng.next() % UInt64(min(population, 12)))
            for _ in 0..<speakers {
                let chatter = KickUserID(10_000 + UInt64(index) * 1000 + rng.next() % UInt64(population))
                emit(
                    guild, .recordChatActivity(chatter, username: "viewer\(chatter.rawValue)"),
                    key: "msg-\(configuration.seed)-\(counter + 1)",
                    at: Int64(rng.next() % 50_000))
            }
            emit(guild, .tick, key: "tick:\(guild):\(clock)", at: 59_000)
            let chatter = KickUserID(10_000 + UInt64(index) * 1000 + rng.next() % UInt64(population))
            if rng.chance(0.03), linkedUsers[guild]?[chatter] == nil {
                let user = UserID(1_300_000_000_000_000_000 + chatter.rawValue * 31 + UInt64(index))
                linkedUsers[guild, default: [:]][chatter] = user
                linkedOrder[guild, default: []].append(user)
                emit(guild, .requestLink(user, expiresAt: Timestamp(milliseconds: clock + 300_000)), actor: user)
                emit(
                    guild, .confirmLink(user, chatter, kickUsername: "viewer\(chatter.rawValue)"), actor: user, at: 1000
                )
            }
            if rng.chance(0.02) {
                emit(
                    guild,
                    .recordGiftedSubs(
                        gifter: chatter, username: "viewer\(chatter.rawValue)", count: Int64(1 + rng.next() % 5)),
                    key: "kick-gift-\(configuration.seed)-\(counter + 1)")
            }
            if rng.chance(0.04), let users = linkedOrder[guild], !users.isEmpty {
                let user = users[Int(rng.next() % UInt64(users.count))]
                let item = ItemID(1 + UInt32(rng.next() % 2))
                emit(guild, .purchase(item, .discord(user), requirement: "Darude – Sandstorm"), actor: user)
            }
            if rng.chance(0.01) {
                emit(
                    guild, .adjustPoints(.kick(chatter), delta: Int64(5 + rng.next() % 50), reason: "event prize"),
                    actor: admin)
            }
            if rng.chance(0.01) {
                emit(
                    guild, .grantTickets(.kick(chatter), amount: Int64(1 + rng.next() % 20), reason: "giveaway"),
                    actor: admin)
            }
            if minute % 720 == 0 {
                let period = PeriodID(periods[guild] ?? 1)
                let seed = raffleSeed(guild: guild, period: period)
                emit(guild, .closeRafflePeriod(seed: seed), actor: admin, at: 59_600)
                openPeriod(guild, admin: admin, at: 59_700)
            }
            // Two minutes after a close the period's drand round is out: record it (a simulated value)
            // and draw the closed period.
            if minute % 720 == 2, let closed = periods[guild].map({ PeriodID($0 - 1) }), closed.rawValue > 0,
                let end = periodEnds[guild]?[closed], let round = DrandChain.mainnet.round(after: end)
            {
                emit(
                    guild, .recordBeacon(period: closed, round: round, value: Self.simulatedBeacon(round: round)),
                    actor: admin, at: 59_500)
                emit(guild, .drawRaffle(seed: nil, winners: 1, period: closed), actor: admin, at: 59_600)
            }
        }
        clock += 60_000
        // Interleave the guilds' commands in time order, keeping each guild's own order.
        pending = pending.enumerated().sorted {
            ($0.element.context.time, $0.offset) < ($1.element.context.time, $1.offset)
        }
        .map(\.element)
    }

    private mutating func openPeriod(_ guild: GuildID, admin: UserID, at offset: Int64 = 0) {
        let period = (periods[guild] ?? 0) + 1
        periods[guild] = period
        periodEnds[guild, default: [:]][PeriodID(period)] = Timestamp(milliseconds: clock + offset + 720 * 60_000)
        let commitment = RaffleDrawing.commitment(for: raffleSeed(guild: guild, period: PeriodID(period)))
        emit(
            guild,
            .openRafflePeriod(
                startsAt: Timestamp(milliseconds: clock + offset),
                endsAt: Timestamp(milliseconds: clock + offset + 720 * 60_000),
                seedCommitment: commitment), actor: admin, at: offset)
    }
}
