import EventLog

extension GuildState {
    /// The largest amount of points or tickets a single command may move (10¹²).
    public static let maxAmount: Int64 = 1_000_000_000_000

    /// Applies the rules of `features.md` to a command: the events it produces, or why it is refused.
    ///
    /// Pure: reads only `self`, `command` and `context`. A key seen before yields ``Decision/duplicate(_:)``
    /// and no events, also after the state was rebuilt from the log (keys are part of the state).
    public func decide(_ command: Command, context: CommandContext) -> Decision {
        guard !context.key.isEmpty, context.key.utf8.count <= 200 else {
            return .rejected(Rejection(.invalidKey, "an idempotency key of 1 to 200 bytes is required"))
        }
        if !context.isInternal, context.key.hasPrefix(CommandContext.internalKeyPrefix) {
            return .rejected(
                Rejection(
                    .invalidKey, "keys beginning \(CommandContext.internalKeyPrefix) are reserved for the service"))
        }
        // Fields are checked before the key is looked up: a malformed command is refused even
        // under a key seen before, so a retry never passes off bad input as the first outcome.
        do { try command.validateFields() } catch let rejection as Rejection {
            return .rejected(rejection)
        } catch {
            return .rejected(Rejection(.internalError, "\(error)"))
        }
        if let outcome = keys[context.key] { return .duplicate(outcome) }
        do {
            return .accepted(withDiscordDeliveries(try rules(command, context), at: context.time))
        } catch let duplicate as ContentDuplicate {
            return .duplicate(duplicate.outcome)
        } catch let rejection as Rejection {
            return .rejected(rejection)
        } catch {
            return .rejected(Rejection(.internalError, "\(error)"))
        }
    }

    func rules(_ command: Command, _ c: CommandContext) throws -> [DomainEvent] {
        let now = c.time
        switch command {
        case .setSetting(let key, let value):
            guard let value else { return settings.overrides[key] == nil ? [] : [.settingCleared(key)] }
            return settings.overrides[key] == value ? [] : [.settingChanged(key, value)]

        case .setStreamStatus(let isLive, let at):
            guard let at else {
                return isLive == live && liveKnown ? [] : [isLive ? .streamWentLive : .streamWentOffline]
            }
            // A report older than the newest applied one is stale (a late `is_live: true` must not
            // reopen accrual after the stream ended); the same report again changes nothing.
            if let last = streamStatusAt, at < last || (at == last && isLive == live) { return [] }
            return [.streamStatusReported(live: isLive, at: at)]

        case .overrideTracking(let mode):
            return mode == tracking ? [] : [.trackingOverridden(mode)]

        case .recordChatActivity(let chatter, let username):
            var events = resolution(of: username, chatter)
            if let known = chatters[chatter], known.username != username, !known.username.isEmpty {
                events.append(.platformUsernameChanged(chatter, from: known.username, to: username))
            }
            events.append(.chatterSeen(chatter, username: username))
            return events

        case .tick:
            return try tickEvents(now)

        case .setRoleThreshold(let t):
            var events: [DomainEvent] = [.roleThresholdSet(t)]
            // Linked people, and people imported with a link still waiting for its Kick id.
            for user in Set(links.keys).union(legacy.links.keys).sorted() {
                let held = grantedRoles[user]?.contains(t.role) ?? false
                let qualifies = t.enabled && person(.discord(user)).minutes >= t.minutes
                if qualifies && !held { events.append(.roleGrantRequested(user, t.role)) }
                if !qualifies && held && settings[.roleRemovalEnabled] == 1 {
                    events.append(.roleRevokeRequested(user, t.role))
                }
            }
            return events

        case .removeRoleThreshold(let role):
            guard thresholds[role] != nil else { throw Rejection(.unknownRole, "no threshold for role \(role)") }
            var events: [DomainEvent] = [.roleThresholdRemoved(role)]
            if settings[.roleRemovalEnabled] == 1 {
                for user in grantedRoles.keys.sorted() where grantedRoles[user]!.contains(role) {
                    events.append(.roleRevokeRequested(user, role))
                }
            }
            return events

        case .recordRoleDelivery(let user, let role, let granted, let outcome, let detail):
            guard outbox[RoleChange(user: user, role: role, grant: granted)] != nil else {
                throw Rejection(
                    .notPending, "no pending \(granted ? "grant" : "removal") of role \(role) for user \(user)")
            }
            return [
                .roleDeliveryRecorded(
                    user, role, granted: granted, outcome: outcome, detail: GuildState.truncated(detail, toBytes: 500))
            ]

        case .spendPoints(let named, let amount, let reason):
            let p = resolve(named)
            let balance = person(p).points
            guard balance >= amount else {
                throw Rejection(.insufficientPoints, "balance \(balance) is less than \(amount)")
            }
            return [.pointsSpent(p, amount: amount, reason: reason)]

        case .adjustPoints(let named, let delta, let reason):
            let p = resolve(named)
            let balance = person(p).points
            guard try GuildState.sum(balance, delta, "the balance of \(p)") >= 0 else {
                throw Rejection(.insufficientPoints, "balance \(balance) cannot go below zero by \(delta)")
            }
            return [.pointsAdjusted(p, delta: delta, reason: reason, by: c.actor)]

        case .recordSubscription(let chatter, let expiresAt, let createdAt):
            if let createdAt,
                let first = keys[GuildState.contentKey(subscriber: chatter, expiresAt: expiresAt, createdAt: createdAt)]
            {
                throw ContentDuplicate(outcome: first)
            }
            return [.subscriptionRecorded(chatter, expiresAt: expiresAt, createdAt: createdAt)]

        case .createShopItem(var item):
            if item.id.rawValue == 0 {
                let (next, overflow) = (items.keys.map(\.rawValue).max() ?? 0).addingReportingOverflow(1)
                guard !overflow else { throw Rejection(.amountOverflow, "no shop item id is left") }
                item.id = ItemID(next)
            } else if items[item.id] != nil {
                throw Rejection(.itemExists, "item \(item.id) already exists")
            }
            item.active = true
            return [.shopItemCreated(item)]

        case .editShopItem(let item):
            guard items[item.id] != nil else { throw Rejection(.unknownItem, "no item \(item.id)") }
            return [.shopItemEdited(item)]

        case .restockShopItem(let id, let stock):
            guard items[id] != nil else { throw Rejection(.unknownItem, "no item \(id)") }
            return [.shopItemRestocked(id, stock: stock)]

        case .deactivateShopItem(let id):
            guard let item = items[id] else { throw Rejection(.unknownItem, "no item \(id)") }
            return item.active ? [.shopItemDeactivated(id)] : []

        case .purchase(let id, let p, let requirement):
            return [.itemPurchased(try purchaseOrder(id, resolve(p), requirement, now))]

        case .fulfilOrder(let id):
            guard let order = orders[id] else { throw Rejection(.unknownOrder, "no order \(id)") }
            guard order.status == .pending else {
                throw Rejection(.orderNotPending, "order \(id) is \(order.status)")
            }
            return [.orderFulfilled(id, by: c.actor)]

        case .cancelOrder(let id, let reason):
            // A cancellation refunds points: like every change to points or tickets, it says why
            // (checked with the other fields, in validateFields).
            guard let order = orders[id] else { throw Rejection(.unknownOrder, "no order \(id)") }
            guard order.status == .pending else {
                throw Rejection(.orderNotPending, "order \(id) is \(order.status)")
            }
            _ = try GuildState.sum(
                person(resolve(order.person)).points, order.price, "the balance of \(resolve(order.person))")
            // The refund and the freed slot reach whoever the buyer is now (a chatter who linked since).
            return [
                .orderCancelled(
                    id, refund: order.price, by: c.actor, reason: GuildState.truncated(reason, toBytes: 200),
                    refundTo: resolve(order.person))
            ]

        case .resetPurchaseLimit(let id, let p):
            guard items[id] != nil else { throw Rejection(.unknownItem, "no item \(id)") }
            return [.purchaseLimitReset(id, person: p.map(resolve))]

        case .openRafflePeriod(let startsAt, let endsAt, let commitment):
            if let open = raffle.current { throw Rejection(.periodOpen, "period \(open.id) is still open") }
            guard commitment.count == 32 else {
                throw Rejection(.invalidCommitment, "a seed commitment is 32 bytes (SHA-256)")
            }
            let (start, end) =
                startsAt.flatMap { s in endsAt.map { (s, $0) } } ?? GuildState.calendarMonth(containing: now)
            guard start < end else { throw Rejection(.invalidPeriod, "a period must end after it starts") }
            let (next, overflow) = raffle.lastPeriod.rawValue.addingReportingOverflow(1)
            guard !overflow else { throw Rejection(.amountOverflow, "no raffle period id is left") }
            // A period ending in the past would commit to a beacon round already published.
            guard end > now else { throw Rejection(.invalidPeriod, "a period must end in the future") }
            guard let round = DrandChain.mainnet.round(after: end) else {
                throw Rejection(.invalidPeriod, "the period's end is out of range")
            }
            return [
                .rafflePeriodOpened(
                    RafflePeriod(
                        id: PeriodID(next), startsAt: start, endsAt: end,
                        seedCommitment: commitment, beaconRound: round))
            ]

        case .closeRafflePeriod(let seed):
            guard let open = raffle.current else { throw Rejection(.noOpenPeriod, "no raffle period is open") }
            guard RaffleDrawing.commitment(for: seed) == open.seedCommitment else {
                throw Rejection(
                    .seedMismatch, "the seed does not match the commitment published when period \(open.id) opened")
            }
            // A period opened before beacons (round 0) commits to the first round after its close.
            let round =
                open.beaconRound != 0 ? open.beaconRound : DrandChain.mainnet.round(after: max(now, open.endsAt))
            guard let round else { throw Rejection(.invalidPeriod, "the period's end is out of range") }
            var events: [DomainEvent] = [
                .rafflePeriodClosed(open.id, table: RaffleDrawing.table(of: self), beaconRound: round)
            ]
            if raffle.revealedSeeds[open.id] == nil { events.append(.raffleSeedRevealed(open.id, seed: seed)) }
            return events

        case .grantTickets(let named, let amount, let reason):
            let p = resolve(named)
            _ = try periodTakingTickets(now)
            try ensureRoom(for: p, tickets: amount, from: .admin)
            return [.ticketsGranted(p, amount: amount, source: .admin, reason: reason)]

        case .removeTickets(let named, let amount, let source, let reason):
            let p = resolve(named)
            _ = try periodTakingTickets(now)
            let holder = person(p)
            let order: [TicketSource] = source.map { [$0] } ?? [.admin, .shop, .giftedSub, .watchtime]
            let available = try order.reduce(Int64(0)) {
                try GuildState.sum($0, holder.tickets(from: $1), "the tickets of \(p)")
            }
            guard available >= amount else {
                throw Rejection(.insufficientTickets, "\(p) holds \(available) such tickets, fewer than \(amount)")
            }
            var left = amount
            var events: [DomainEvent] = []
            for s in order where left > 0 {
                let take = min(left, holder.tickets(from: s))
                if take > 0 { events.append(.ticketsRemoved(p, amount: take, source: s, reason: reason)) }
                left -= take
            }
            return events

        case .setRaffleExclusion(let named, let excluded):
            let p = resolve(named)
            // Between the open period's end and its close the table is about to freeze: no changes.
            if let open = raffle.current, now >= open.endsAt {
                throw Rejection(.periodEnded, "period \(open.id) has ended; exclusions apply to the next period")
            }
            return person(p).excluded == excluded ? [] : [.raffleExclusionChanged(p, excluded: excluded)]

        case .drawRaffle(let seed, let winners, let period):
            return try drawEvents(period: period, seed: seed, count: winners, replacing: nil)

        case .rerollRaffle(let period, let replaces, let reason):
            return try drawEvents(period: period, seed: nil, count: 1, replacing: (replaces, reason))

        case .recordBeacon(let period, let round, let value):
            return try beaconEvents(period: period, round: round, value: value, now: now)

        case .recordGiftedSubs(let gifter, _, let count, let giftees, let createdAt):
            // An anonymous gifter cannot be credited: the gift is recorded with the reason.
            guard let gifter else {
                return [.giftedSubsUnattributed(count: count, reason: "an anonymous gifter cannot be credited")]
            }
            // Kick redelivers under a new message id: the same content is the same gift.
            if let createdAt,
                let first = keys[
                    GuildState.contentKey(gifter: gifter, count: count, giftees: giftees, createdAt: createdAt)]
            {
                throw ContentDuplicate(outcome: first)
            }
            var events: [DomainEvent] = [
                .giftedSubsRecorded(gifter: gifter, count: count, giftees: giftees, createdAt: createdAt)
            ]
            let perSub = settings[.giftedSubTickets]
            if let open = raffle.current, now < open.endsAt, perSub > 0 {
                let tickets = try GuildState.product(count, perSub, "gifted-sub tickets")
                try ensureRoom(for: owner(of: gifter), tickets: tickets, from: .giftedSub)
                events.append(
                    .ticketsGranted(
                        owner(of: gifter), amount: tickets, source: .giftedSub,
                        reason: count == 1 ? "1 gifted sub" : "\(count) gifted subs"))
            }
            return events

        case .requestLink(let user, let expiresAt):
            if let chatter = links[user] {
                throw Rejection(.alreadyLinked, "already linked to Kick user \(chatter.rawValue)")
            }
            let (ahead, overflow) = expiresAt.rawValue.subtractingReportingOverflow(now.rawValue)
            guard expiresAt > now, !overflow, ahead <= 600_000 else {
                throw Rejection(.invalidExpiry, "a link request expires within 10 minutes")
            }
            return [.linkRequested(user, expiresAt: expiresAt)]

        case .confirmLink(let user, let chatter, let username):
            guard let expiry = pendingLinks[user], expiry > now else {
                throw Rejection(.noLinkRequest, "no unexpired link request for user \(user)")
            }
            if let other = chatters[chatter]?.linkedUser, other != user {
                return [
                    .linkRejected(
                        user, chatter, reason: "Kick account \(username) is already linked to another Discord user")
                ]
            }
            if let existing = links[user] {
                throw Rejection(.alreadyLinked, "already linked to Kick user \(existing.rawValue)")
            }
            // A merge moves tickets and reorders the ticket ranges: not while the table is about to freeze.
            if let open = raffle.current, now >= open.endsAt, people[.kick(chatter)] != nil {
                throw Rejection(.periodEnded, "period \(open.id) has ended; link again once it has closed")
            }
            return try linkEvents(user, chatter, username)

        case .rejectLink(let user, let chatter, let reason):
            guard pendingLinks[user] != nil else {
                throw Rejection(.noLinkRequest, "no link request for user \(user)")
            }
            return [.linkRejected(user, chatter, reason: GuildState.truncated(reason, toBytes: 200))]

        case .connectKickChannel, .answerChatCommand, .recordDelivery, .subscribeKickEvents, .startKickAuthorization,
            .finishKickAuthorization:
            return try kickRules(command, c)

        case .importLegacy(let batch):
            return try decideImport(batch, time: c.time).events

        case .unlink(let user):
            guard links[user] != nil else { throw Rejection(.notLinked, "user \(user) is not linked") }
            var events: [DomainEvent] = [.accountUnlinked(user, by: c.actor)]
            let linkedRole = RoleID(UInt64(settings[.linkedRoleID]))
            if linkedRole.rawValue != 0, grantedRoles[user]?.contains(linkedRole) == true {
                events.append(.roleRevokeRequested(user, linkedRole))
            }
            return events
        }
    }

    /// A command that repeats an earlier one by content (a Kick redelivery under a new message id).
    private struct ContentDuplicate: Error {
        var outcome: IdempotencyKeys.Outcome
    }

    // MARK: Watch time

    /// Who a tick credits, and what follows: points for every full 5 unconverted minutes, watch-time
    /// tickets for every full hour in the period (linked people only), roles whose threshold is reached.
    private func tickEvents(_ now: Timestamp) throws -> [DomainEvent] {
        let intervalMs = max(60, settings[.tickIntervalSeconds]) * 1000
        if let last = lastTickAt, now.rawValue - last.rawValue < intervalMs {
            throw Rejection(
                .tickTooEarly,
                "the last tick was \((now.rawValue - last.rawValue) / 1000) s ago; one per \(intervalMs / 1000) s")
        }
        let activitySince = now.rawValue - 1000 * settings[.activityWindowSeconds]
        let creditSince = now.rawValue - 1000 * settings[.chatterWindowSeconds]
        let counts: Bool
        switch tracking {
        case .forcedOff: counts = false
        case .forcedOn: counts = true
        case .automatic:
            let active = lastSpoke.values.lazy.filter { $0.rawValue >= activitySince && $0 <= now }.count
            counts = isLive && active >= Int(settings[.minActiveChatters])
        }
        guard counts else { return [] }
        let candidates = lastSpoke.filter { $0.value.rawValue >= creditSince && $0.value <= now }.keys
            .map { owner(of: $0) }.sorted()
        let minutes = max(1, settings[.tickIntervalSeconds] / 60)
        var credited: [PersonID] = []
        var earnings: [DomainEvent] = []
        for p in candidates {
            // Someone whose counters would pass Int64 is left out of this tick rather than trapping the
            // fold; everyone else is credited as usual.
            guard let events = try? creditEvents(p, minutes: minutes, now: now) else { continue }
            credited.append(p)
            earnings += events
        }
        guard !credited.isEmpty else { return [] }
        return [.watchTimeAccrued(credited: credited, minutes: minutes)] + earnings
    }

    /// What crediting `minutes` to `p` earns besides the minutes: points for every full 5 unconverted
    /// minutes, watch-time tickets for every full hour in the period, roles whose threshold is reached.
    ///
    /// - Throws: an `amount_overflow` ``Rejection`` if any of the person's counters would pass Int64.
    private func creditEvents(_ p: PersonID, minutes: Int64, now: Timestamp) throws -> [DomainEvent] {
        let before = person(p)
        let total = try GuildState.sum(before.minutes, minutes, "watch time")
        let unconverted = try GuildState.sum(before.unconvertedMinutes, minutes, "watch time")
        let periodMinutes = try GuildState.sum(before.periodMinutes, minutes, "watch time")
        var events: [DomainEvent] = []
        if unconverted >= 5 {
            let subscriber = isSubscriber(p, at: now)
            let rate = settings[subscriber ? .subscriberPointsPer5Min : .pointsPer5Min]
            let blocks = unconverted / 5
            if rate > 0 {
                let points = try GuildState.product(blocks, rate, "points")
                _ = try GuildState.sum(before.points, points, "the balance of \(p)")
                _ = try GuildState.sum(before.pointsEarned, points, "the points of \(p)")
                events.append(.pointsEarned(p, points: points, minutesConverted: blocks * 5, subscriber: subscriber))
            }
        }
        guard case .discord(let user) = p else { return events }
        let perHour = settings[.watchtimeTicketsPerHour]
        // Hours are paid by crossing, whatever crossed them (a merge included): the period's full hours
        // less those already paid.
        if let open = raffle.current, now < open.endsAt, perHour > 0 {
            let hours = periodMinutes / 60 - before.periodHoursPaid
            if hours > 0 {
                let tickets = try GuildState.product(hours, perHour, "watch-time tickets")
                try ensureRoom(for: p, tickets: tickets, from: .watchtime)
                events.append(
                    .ticketsGranted(
                        p, amount: tickets, source: .watchtime, reason: "\(periodMinutes / 60) h watch time this period"
                    ))
            }
        }
        return events + roleGrants(user, minutes: total)
    }

    private func isSubscriber(_ p: PersonID, at now: Timestamp) -> Bool {
        let chatter: KickUserID?
        switch p {
        case .kick(let k): chatter = k
        case .discord(let u): chatter = links[u]
        case .kickName: chatter = nil
        }
        guard let chatter, let until = chatters[chatter]?.subscriberUntil else { return false }
        return until > now
    }

    private func roleGrants(_ user: UserID, minutes: Int64) -> [DomainEvent] {
        let held = grantedRoles[user] ?? []
        return thresholds.values
            .filter { $0.enabled && minutes >= $0.minutes && !held.contains($0.role) }
            .sorted { ($0.position, $0.role) < ($1.position, $1.role) }
            .map { .roleGrantRequested(user, $0.role) }
    }

    // MARK: Links

    private func linkEvents(_ user: UserID, _ chatter: KickUserID, _ username: String) throws -> [DomainEvent] {
        var events: [DomainEvent] = [.accountLinked(user, chatter, kickUsername: username)]
        // A provisional name of the old bot's joins the account first (its totals move with it).
        let resolved = resolution(of: username, chatter)
        var minutes = person(.discord(user)).minutes
        if let earned = people[.kick(chatter)] {
            _ = try GuildState.merged(earned, into: person(.discord(user)))
            events.append(
                .chatterEarningsMerged(
                    chatter, into: user, minutes: earned.minutes, points: earned.points, tickets: earned.totalTickets))
            minutes += earned.minutes
        }
        if !resolved.isEmpty {
            events += resolved
            let name = username.lowercased()
            minutes += person(.kickName(name)).minutes
        }
        events += roleGrants(user, minutes: minutes)
        let linkedRole = RoleID(UInt64(settings[.linkedRoleID]))
        if linkedRole.rawValue != 0, grantedRoles[user]?.contains(linkedRole) != true {
            events.append(.roleGrantRequested(user, linkedRole))
        }
        return events
    }

    // MARK: Shop

    private func purchaseOrder(_ id: ItemID, _ p: PersonID, _ requirement: String, _ now: Timestamp) throws -> Order {
        guard let item = items[id] else { throw Rejection(.unknownItem, "no item \(id)") }
        guard item.active else { throw Rejection(.itemInactive, "\(item.name) is no longer sold") }
        guard item.stock != 0 else { throw Rejection(.outOfStock, "\(item.name) is out of stock") }
        if !item.requirementPrompt.isEmpty {
            try Command.validateText(requirement, "answer to “\(item.requirementPrompt)”", max: 500)
        }
        if item.perPersonLimit >= 0 {
            // Items created before windows were bounded may hold any value: checked, never a trap.
            let since =
                item.limitWindowSeconds > 0
                ? try GuildState.difference(
                    now.rawValue, try GuildState.product(item.limitWindowSeconds, 1000, "the purchase window"),
                    "the purchase window") : Int64.min
            let used = (purchases[id]?[p] ?? []).filter { $0.time.rawValue > since }.count
            guard used < item.perPersonLimit else {
                throw Rejection(.limitReached, "\(p) has bought \(item.name) \(used) time(s), the limit")
            }
        }
        var tickets: Int64 = 0
        var period: PeriodID? = nil
        if case .raffleTickets(let n) = item.kind {
            // Checked before any points move: the old bot took the points and silently gave nothing.
            guard let open = raffle.current else {
                throw Rejection(.noOpenPeriod, "\(item.name) gives raffle tickets, but no raffle period is open")
            }
            guard now < open.endsAt else {
                throw Rejection(.periodEnded, "\(item.name) gives raffle tickets, but period \(open.id) has ended")
            }
            tickets = n
            period = open.id
            try ensureRoom(for: p, tickets: n, from: .shop)
        }
        let balance = person(p).points
        guard balance >= item.price else {
            throw Rejection(.insufficientPoints, "\(item.name) costs \(item.price); the balance is \(balance)")
        }
        let (orderID, overflow) = lastOrder.rawValue.addingReportingOverflow(1)
        guard !overflow else { throw Rejection(.amountOverflow, "no order id is left") }
        return Order(
            id: OrderID(orderID), item: id, person: p, price: item.price, tickets: tickets,
            period: period,
            requirement: requirement, status: tickets > 0 ? .completed : .pending)
    }

    // MARK: Raffle

    /// The open period, if it still takes tickets (it has not reached its end).
    private func periodTakingTickets(_ now: Timestamp) throws -> RafflePeriod {
        guard let open = raffle.current else { throw Rejection(.noOpenPeriod, "no raffle period is open") }
        guard now < open.endsAt else {
            throw Rejection(.periodEnded, "period \(open.id) has ended; its tickets no longer change")
        }
        return open
    }

    /// The closed period a draw or beacon names, or the newest closed one.
    private func closedPeriod(_ id: PeriodID?) throws -> RafflePeriod {
        guard let id = id ?? raffle.newestClosed ?? raffle.current?.id else {
            throw Rejection(.noPeriod, "no raffle period to draw from")
        }
        guard let period = raffle.periods[id] else { throw Rejection(.unknownPeriod, "no raffle period \(id)") }
        guard raffle.isClosed(id) else {
            throw Rejection(.periodNotClosed, "period \(id) is still open; only closed periods are drawn")
        }
        return period
    }

    private func drawEvents(
        period id: PeriodID?, seed: [UInt8]?, count: Int, replacing: (draw: UInt32, reason: String)?
    ) throws -> [DomainEvent] {
        let period = try closedPeriod(id)
        if let seed, RaffleDrawing.commitment(for: seed) != period.seedCommitment {
            throw Rejection(
                .seedMismatch, "the seed does not match the commitment published when period \(period.id) opened")
        }
        guard let table = raffle.tables[period.id], let serverSeed = raffle.revealedSeeds[period.id] else {
            throw Rejection(
                .periodNotFrozen, "period \(period.id) was closed before ticket tables were frozen; it cannot be drawn")
        }
        guard let beacon = raffle.beacons[period.id] else {
            throw Rejection(
                .noBeacon,
                "period \(period.id) waits for drand round \(period.beaconRound); record the beacon first")
        }
        let earlier = raffle.history[period.id] ?? []
        if let replacing {
            guard earlier.contains(where: { $0.number == replacing.draw }) else {
                throw Rejection(.unknownDraw, "period \(period.id) has no draw \(replacing.draw)")
            }
            if let later = earlier.first(where: { $0.replaces == replacing.draw }) {
                throw Rejection(.drawReplaced, "draw \(replacing.draw) was rerolled already by draw \(later.number)")
            }
        }
        var winners = Set(earlier.map(\.winner))
        var number = UInt32(earlier.count)
        var events: [DomainEvent] = []
        for _ in 0..<count {
            number += 1
            let result = RaffleDrawing.draw(
                guild: guild, period: period.id, number: number, serverSeed: serverSeed, beacon: beacon, table: table,
                earlierWinners: winners, replaces: replacing?.draw ?? 0, reason: replacing?.reason ?? "")
            switch result {
            case .success(let draw):
                events.append(.raffleWinnerDrawn(draw))
                winners.insert(draw.winner)
            case .failure(.overflow):
                throw Rejection(.invalidAmount, "period \(period.id)'s tickets add up beyond the countable")
            case .failure(.noParticipants):
                break
            }
            if case .failure = result { break }
        }
        guard !events.isEmpty else {
            throw Rejection(.noParticipants, "nobody is left to draw in period \(period.id)")
        }
        return events
    }

    private func beaconEvents(period id: PeriodID?, round: UInt64, value: [UInt8], now: Timestamp) throws
        -> [DomainEvent]
    {
        let period = try closedPeriod(id)
        guard round == period.beaconRound else {
            throw Rejection(
                .beaconRoundMismatch, "period \(period.id) committed to drand round \(period.beaconRound), not \(round)"
            )
        }
        guard let due = DrandChain.mainnet.time(of: round), now >= due else {
            throw Rejection(.beaconNotDue, "drand round \(round) is not published yet")
        }
        if let recorded = raffle.beacons[period.id] {
            guard recorded.value == value else {
                throw Rejection(.beaconRecorded, "period \(period.id)'s beacon was recorded with another value")
            }
            return []
        }
        return [.raffleBeaconRecorded(period.id, RaffleBeacon(round: round, value: value))]
    }

    /// The UTC calendar month containing `t`: [first day 00:00, first day of next month 00:00).
    static func calendarMonth(containing t: Timestamp) -> (Timestamp, Timestamp) {
        let day = t.rawValue >= 0 ? t.rawValue / 86_400_000 : (t.rawValue - 86_399_999) / 86_400_000
        let (y, m, _) = Timestamp.civil(fromDays: day)
        let start = Timestamp.days(year: y, month: m, day: 1) * 86_400_000
        let end =
            (m == 12 ? Timestamp.days(year: y + 1, month: 1, day: 1) : Timestamp.days(year: y, month: m + 1, day: 1))
            * 86_400_000
        return (Timestamp(milliseconds: start), Timestamp(milliseconds: end))
    }

    // MARK: Checked arithmetic

    /// `a + b`, or an `amount_overflow` rejection naming `what` when the sum does not fit in an Int64.
    static func sum(_ a: Int64, _ b: Int64, _ what: @autoclosure () -> String) throws -> Int64 {
        let (result, overflow) = a.addingReportingOverflow(b)
        guard !overflow else { throw Rejection(.amountOverflow, "\(what()) would pass \(Int64.max)") }
        return result
    }

    /// `a − b`, or an `amount_overflow` rejection naming `what` when the difference does not fit.
    static func difference(_ a: Int64, _ b: Int64, _ what: @autoclosure () -> String) throws -> Int64 {
        let (result, overflow) = a.subtractingReportingOverflow(b)
        guard !overflow else { throw Rejection(.amountOverflow, "\(what()) would pass \(Int64.min)") }
        return result
    }

    /// `a × b`, or an `amount_overflow` rejection naming `what` when the product does not fit.
    static func product(_ a: Int64, _ b: Int64, _ what: @autoclosure () -> String) throws -> Int64 {
        let (result, overflow) = a.multipliedReportingOverflow(by: b)
        guard !overflow else { throw Rejection(.amountOverflow, "\(what()) would pass \(Int64.max)") }
        return result
    }

    /// Rejects a grant of `tickets` from `source` that would take the person's count for that source,
    /// or their total, past Int64 (the raffle sums them).
    private func ensureRoom(for p: PersonID, tickets: Int64, from source: TicketSource) throws {
        let holder = person(p)
        _ = try GuildState.sum(holder.tickets(from: source), tickets, "the tickets of \(p)")
        _ = try GuildState.sum(holder.totalTickets, tickets, "the tickets of \(p)")
    }

    /// The person `source` merged into `target` as `chatterEarningsMerged` applies it, checked.
    static func merged(_ source: PersonState, into target: PersonState) throws -> PersonState {
        var t = target
        t.minutes = try sum(t.minutes, source.minutes, "merged watch time")
        t.unconvertedMinutes = try sum(t.unconvertedMinutes, source.unconvertedMinutes, "merged watch time")
        t.points = try sum(t.points, source.points, "the merged balance")
        t.pointsEarned = try sum(t.pointsEarned, source.pointsEarned, "merged points")
        t.periodMinutes = try sum(t.periodMinutes, source.periodMinutes, "merged watch time")
        var total: Int64 = 0
        for i in 0..<4 {
            t.tickets[i] = try sum(t.tickets[i], source.tickets[i], "merged tickets")
            total = try sum(total, t.tickets[i], "merged tickets")
        }
        return t
    }

    // MARK: Validation

    /// The longest prefix of whole characters of `text` that fits in `max` UTF-8 bytes: text limits
    /// count bytes, as stored, not characters (one emoji can take 25 bytes).
    static func truncated(_ text: String, toBytes max: Int) -> String {
        guard text.utf8.count > max else { return text }
        var end = text.startIndex
        var bytes = 0
        for index in text.indices {
            let next = text.index(after: index)
            bytes += text.utf8.distance(from: index, to: next)
            guard bytes <= max else { break }
            end = next
        }
        return String(text[..<end])
    }
}
