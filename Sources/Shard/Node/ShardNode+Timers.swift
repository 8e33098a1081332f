import Domain
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
        for owner in acquiredOwners() {
            for guild in await owner.guilds {
                guard let state = await owner.state(of: guild) else { continue }
                let interval = max(60, state.settings[.tickIntervalSeconds]) * 1000
                if state.tracking != .forcedOff, state.live || state.tracking == .forcedOn {
                    let key = "tick:\(guild):\(now.rawValue / interval)"
                    if let outcome = await timerCommand(owner, .tick, guild, key: key, now: now),
                        !outcome.duplicate, !outcome.events.isEmpty
                    {
                        round.ticked += 1
                    }
                }
                if let period = state.raffle.current, period.endsAt <= now {
                    let seed = RaffleDrawing.seed(secret: raffleSecret, guild: guild, period: period.id)
                    let closed = await timerCommand(
                        owner, .closeRafflePeriod(seed: seed), guild, key: "period-end:\(guild):\(period.id)", now: now)
                    if closed?.duplicate == false { round.periodsClosed += 1 }
                    if state.settings[.raffleAutoRenew] == 1 {
                        let next = RaffleDrawing.seed(
                            secret: raffleSecret, guild: guild, period: PeriodID(period.id.rawValue + 1))
                        let opened = await timerCommand(
                            owner,
                            .openRafflePeriod(
                                startsAt: nil, endsAt: nil, seedCommitment: RaffleDrawing.commitment(for: next)),
                            guild, key: "period-renew:\(guild):\(period.id)", now: now)
                        if opened?.duplicate == false, opened?.events.isEmpty == false { round.periodsOpened += 1 }
                    }
                }
            }
        }
        return round
    }

    /// Runs one timer command; a failure is logged (a timer that fails must not fail silently) and
    /// the next round tries again.
    private func timerCommand(
        _ owner: PartitionOwner, _ command: Command, _ guild: GuildID, key: String, now: Timestamp
    ) async -> PartitionOwner.Outcome? {
        do {
            return try await owner.handle(command, guild: guild, context: CommandContext(key: key, time: now))
        } catch let rejection as Rejection {
            logger.warning(
                "timer command rejected",
                metadata: [
                    "guild": "\(guild)", "key": "\(key)", "code": "\(rejection.code)",
                    "message": "\(rejection.message)",
                ])
        } catch {
            logger.error(
                "timer command failed",
                metadata: [
                    "partition": "\(owner.partition)", "guild": "\(guild)", "key": "\(key)", "error": "\(error)",
                ])
        }
        return nil
    }
}

extension PartitionOwner {
    /// The guilds this partition has state for.
    public var guilds: [GuildID] { processorGuilds }
}
