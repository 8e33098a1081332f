public import Domain
public import EventLog

extension ShardNode {
    /// What one round of timers did.
    public struct TimerRound: Sendable, Equatable {
        /// Guilds whose watch-time tick credited someone.
        public var ticked = 0
        /// Raffle periods closed because they ended (and reopened where auto-renew is on).
        public var periodsClosed = 0
        public var periodsOpened = 0
        /// Beacon values fetched and recorded for ended periods.
        public var beaconsRecorded = 0
        /// Periods drawn automatically (`raffle_auto_draw`).
        public var periodsDrawn = 0
    }

    /// Fires every timer due at `now` in every acquired partition: watch-time ticks (one per guild
    /// per tick interval; the rules refuse a tick sooner than that after the last, and the key
    /// `internal:tick:<guild>:<bucket>` makes a repeat a duplicate), raffle periods that have ended
    /// (closed with their seed; a new calendar month opened when the guild enables auto-renew), the
    /// beacon value of an ended period once its round is out (when a ``RandomnessBeacon`` is
    /// configured), and the automatic draw of a period whose beacon is recorded. Timers issue ordinary
    /// commands with keys in the internal namespace, so replay never re-runs them and no client key
    /// collides with them.
    public func fireTimers(now: Timestamp) async -> TimerRound {
        let raffleSecret = configuration.raffleSecret
        var round = TimerRound()
        for owner in await acquiredOwners() {
            for guild in await owner.guilds {
                guard let state = await owner.state(of: guild) else { continue }
                let interval = max(60, state.settings[.tickIntervalSeconds]) * 1000
                let due = state.lastTickAt.map { now.rawValue - $0.rawValue >= interval } ?? true
                if due, state.tracking != .forcedOff, state.isLive || state.tracking == .forcedOn {
                    if let outcome = try? await owner.handle(
                        .tick, guild: guild, context: .internal("tick:\(guild):\(now.rawValue / interval)", time: now)),
                        !outcome.duplicate, !outcome.events.isEmpty
                    {
                        round.ticked += 1
                    }
                }
                if let period = state.raffle.current, period.endsAt <= now {
                    let seed = RaffleDrawing.seed(secret: raffleSecret, guild: guild, period: period.id)
                    let closed = try? await owner.handle(
                        .closeRafflePeriod(seed: seed), guild: guild,
                        context: .internal("period-end:\(guild):\(period.id)", time: now))
                    if closed?.duplicate == false { round.periodsClosed += 1 }
                    if state.settings[.raffleAutoRenew] == 1 {
                        let next = RaffleDrawing.seed(
                            secret: raffleSecret, guild: guild, period: PeriodID(period.id.rawValue + 1))
                        let opened = try? await owner.handle(
                            .openRafflePeriod(
                                startsAt: nil, endsAt: nil, seedCommitment: RaffleDrawing.commitment(for: next)),
                            guild: guild, context: .internal("period-renew:\(guild):\(period.id)", time: now))
                        if opened?.duplicate == false, opened?.events.isEmpty == false { round.periodsOpened += 1 }
                    }
                }
                await drawEndedPeriod(guild, owner: owner, now: now, round: &round)
            }
        }
        return round
    }

    /// Records the newest closed period's beacon once its round is out (if a beacon source is
    /// configured), then draws it when the guild sets `raffle_auto_draw`.
    private func drawEndedPeriod(_ guild: GuildID, owner: PartitionOwner, now: Timestamp, round: inout TimerRound)
        async
    {
        guard var state = await owner.state(of: guild), let closed = state.raffle.newestClosed,
            state.raffle.tables[closed] != nil, let period = state.raffle.periods[closed]
        else { return }
        if state.raffle.beacons[closed] == nil, let beacon = configuration.beacon,
            let published = DrandChain.mainnet.time(of: period.beaconRound), now >= published,
            let value = try? await beacon.randomness(round: period.beaconRound),
            let outcome = try? await owner.handle(
                .recordBeacon(period: closed, round: period.beaconRound, value: value), guild: guild,
                context: .internal("beacon:\(guild):\(closed)", time: now))
        {
            if !outcome.duplicate, !outcome.events.isEmpty { round.beaconsRecorded += 1 }
            state = await owner.state(of: guild) ?? state
        }
        let winners = Int(state.settings[.raffleAutoDraw])
        guard winners > 0, state.raffle.beacons[closed] != nil, (state.raffle.history[closed] ?? []).isEmpty else {
            return
        }
        if let outcome = try? await owner.handle(
            .drawRaffle(seed: nil, winners: winners, period: closed), guild: guild,
            context: .internal("auto-draw:\(guild):\(closed)", time: now)),
            !outcome.duplicate, !outcome.events.isEmpty
        {
            round.periodsDrawn += 1
        }
    }

    /// Fires timers every `every` until the task is cancelled, reading the time from `now` and
    /// waiting with `clock`.
    public func runTimers<C: Clock>(
        every: Duration = .seconds(1), clock: C, now: @escaping @Sendable () -> Timestamp
    ) async where C.Duration == Duration {
        while !Task.isCancelled {
            _ = await fireTimers(now: now())
            do { try await clock.sleep(for: every) } catch { return }
        }
    }
}

extension PartitionOwner {
    /// The guilds this partition has state for.
    public var guilds: [GuildID] { processorGuilds }
}
