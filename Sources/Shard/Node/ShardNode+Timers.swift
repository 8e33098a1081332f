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
    }

    /// Fires every timer due at `now` in every acquired partition: watch-time ticks (one per guild
    /// per tick interval, keyed `tick:<guild>:<bucket>` so a repeat is a duplicate) and raffle
    /// periods that have ended (closed with their seed; a new calendar month opened when the guild
    /// enables auto-renew). Timers issue ordinary commands, so replay never re-runs them.
    public func fireTimers(now: Timestamp) async -> TimerRound {
        let raffleSecret = configuration.raffleSecret
        var round = TimerRound()
        for owner in await acquiredOwners() {
            for guild in await owner.guilds {
                guard let state = await owner.state(of: guild) else { continue }
                let interval = max(60, state.settings[.tickIntervalSeconds]) * 1000
                if state.tracking != .forcedOff, state.live || state.tracking == .forcedOn {
                    let key = "tick:\(guild):\(now.rawValue / interval)"
                    if let outcome = try? await owner.handle(
                        .tick, guild: guild, context: CommandContext(key: key, time: now)),
                        !outcome.duplicate, !outcome.events.isEmpty
                    {
                        round.ticked += 1
                    }
                }
                if let period = state.raffle.current, period.endsAt <= now {
                    let seed = RaffleDrawing.seed(secret: raffleSecret, guild: guild, period: period.id)
                    let closed = try? await owner.handle(
                        .closeRafflePeriod(seed: seed), guild: guild,
                        context: CommandContext(key: "period-end:\(guild):\(period.id)", time: now))
                    if closed?.duplicate == false { round.periodsClosed += 1 }
                    if state.settings[.raffleAutoRenew] == 1 {
                        let next = RaffleDrawing.seed(
                            secret: raffleSecret, guild: guild, period: PeriodID(period.id.rawValue + 1))
                        let opened = try? await owner.handle(
                            .openRafflePeriod(
                                startsAt: nil, endsAt: nil, seedCommitment: RaffleDrawing.commitment(for: next)),
                            guild: guild, context: CommandContext(key: "period-renew:\(guild):\(period.id)", time: now))
                        if opened?.duplicate == false, opened?.events.isEmpty == false { round.periodsOpened += 1 }
                    }
                }
            }
        }
        return round
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
