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
        /// Beacon values fetched and recorded for ended periods.
        public var beaconsRecorded = 0
        /// Periods drawn automatically (`raffle_auto_draw`).
        public var periodsDrawn = 0
        /// Timed messages sent to Kick chat.
        public var timedMessagesSent = 0
    }

    /// Fires every timer due at `now` in every acquired partition: watch-time ticks (one per guild
    /// per tick interval; the rules refuse a tick sooner than that after the last, and the key
    /// `internal:tick:<guild>:<bucket>` makes a repeat a duplicate), raffle periods that have ended
    /// (closed with their seed; a new calendar month opened when the guild enables auto-renew), the
    /// beacon value of an ended period once its round is out (when a ``RandomnessBeacon`` is
    /// configured), the automatic draw of a period whose beacon is recorded, and the guild's due timed
    /// messages (only while the stream is live and people chat). Timers issue ordinary
    /// commands with keys in the internal namespace, so replay never re-runs them and no client key
    /// collides with them.
    public func fireTimers(now: Timestamp) async -> TimerRound {
        let raffleSecret = configuration.raffleSecret
        var round = TimerRound()
        for owner in acquiredOwners() {
            for guild in await owner.guilds {
                guard let state = await owner.state(of: guild) else { continue }
                let interval = max(60, state.settings[.tickIntervalSeconds]) * 1000
                let due = state.lastTickAt.map { now.rawValue - $0.rawValue >= interval } ?? true
                if due, state.tracking != .forcedOff, state.isLive || state.tracking == .forcedOn {
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
                await drawEndedPeriod(guild, owner: owner, now: now, round: &round)
                // Timed messages: one check a minute at most (the key), each message at most once per check.
                if !state.dueTimedMessages(at: now).isEmpty,
                    let outcome = await timerCommand(
                        owner, .game(.sendTimedMessages), guild, key: "timed:\(guild):\(now.rawValue / 60_000)",
                        now: now),
                    !outcome.duplicate
                {
                    round.timedMessagesSent +=
                        outcome.events.filter {
                            if case .game(.timedMessageSent) = $0.event { true } else { false }
                        }.count
                }
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
            let outcome = await timerCommand(
                owner, .recordBeacon(period: closed, round: period.beaconRound, value: value), guild,
                key: "beacon:\(guild):\(closed)", now: now)
        {
            if !outcome.duplicate, !outcome.events.isEmpty { round.beaconsRecorded += 1 }
            state = await owner.state(of: guild) ?? state
        }
        let winners = Int(state.settings[.raffleAutoDraw])
        guard winners > 0, state.raffle.beacons[closed] != nil, (state.raffle.history[closed] ?? []).isEmpty else {
            return
        }
        if let outcome = await timerCommand(
            owner, .drawRaffle(seed: nil, winners: winners, period: closed), guild, key: "auto-draw:\(guild):\(closed)",
            now: now),
            !outcome.duplicate, !outcome.events.isEmpty
        {
            round.periodsDrawn += 1
        }
    }

    /// Runs one timer command; a failure is logged (a timer that fails must not fail silently) and
    /// the next round tries again.
    private func timerCommand(
        _ owner: PartitionOwner, _ command: Command, _ guild: GuildID, key: String, now: Timestamp
    ) async -> PartitionOwner.Outcome? {
        do {
            return try await owner.handle(command, guild: guild, context: .internal(key, time: now))
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
