public import EventLog

extension GuildState {
    /// Folds one stored event into the state. Events must come in sequence order; replaying a
    /// guild's log through this reproduces its state exactly.
    public mutating func apply(_ stored: StoredEvent) {
        precondition(stored.guild == guild, "event of guild \(stored.guild) applied to guild \(guild)")
        apply(
            stored.event, sequence: stored.sequence, timestamp: stored.timestamp, offset: stored.offset,
            key: stored.key,
            commandEvents: stored.commandEvents)
    }

    public mutating func apply(
        _ event: DomainEvent, sequence: UInt64, timestamp: Timestamp, offset: Offset? = nil, key: String? = nil,
        commandEvents: Int = 1
    ) {
        switch event {
        case .settingChanged(let k, let v): settings.overrides[k] = v
        case .settingCleared(let k): settings.overrides.removeValue(forKey: k)
        case .streamWentLive:
            live = true
            liveKnown = true
        case .streamWentOffline:
            live = false
            liveKnown = true
        case .trackingOverridden(let mode): tracking = mode
        case .chatterSeen(let chatter, let username):
            lastSpoke[chatter] = timestamp
            if chatters[chatter] == nil {
                chatters[chatter] = ChatterState(username: username)
            } else {
                chatters[chatter]!.username = username
            }
        case .watchTimeAccrued(let credited, let minutes):
            lastTickAt = timestamp
            let inPeriod = raffle.current != nil
            for p in credited {
                modifyPerson(p) { person in
                    person.minutes += minutes
                    person.unconvertedMinutes += minutes
                    if inPeriod {
                        person.periodMinutes += minutes
                        // The tick that made these minutes paid their full hours (linked people only).
                        if case .discord = p { person.periodHoursPaid = person.periodMinutes / 60 }
                    }
                }
            }
            // Forget chatters who fell out of every window, amortised: only when the map has doubled
            // since the last pruning (deterministic, so replay prunes at the same events).
            if lastSpoke.count >= pruneLastSpokeAt {
                let horizon =
                    timestamp.rawValue - 1000 * max(settings[.activityWindowSeconds], settings[.chatterWindowSeconds])
                lastSpoke = lastSpoke.filter { $0.value.rawValue >= horizon }
                pruneLastSpokeAt = max(64, 2 * lastSpoke.count)
            }
        case .roleThresholdSet(let t):
            thresholds[t.role] = t
            legacy.roles.removeValue(forKey: t.name)
        case .roleThresholdRemoved(let role): thresholds.removeValue(forKey: role)
        case .roleGrantRequested(let user, let role):
            grantedRoles[user, default: []].insert(role)
            outbox.removeValue(forKey: RoleChange(user: user, role: role, grant: false))
            outbox[RoleChange(user: user, role: role, grant: true)] = timestamp
        case .roleRevokeRequested(let user, let role):
            grantedRoles[user]?.remove(role)
            if grantedRoles[user]?.isEmpty == true { grantedRoles.removeValue(forKey: user) }
            outbox.removeValue(forKey: RoleChange(user: user, role: role, grant: true))
            outbox[RoleChange(user: user, role: role, grant: false)] = timestamp
        case .roleDeliveryRecorded(let user, let role, let granted, _, _):
            outbox.removeValue(forKey: RoleChange(user: user, role: role, grant: granted))
        case .pointsEarned(let p, let points, let minutes, _):
            modifyPerson(p) { person in
                person.points += points
                person.pointsEarned += points
                person.unconvertedMinutes -= minutes
            }
        case .pointsSpent(let p, let amount, _):
            people.update(p) { $0.points -= amount }
        case .pointsRefunded(let p, let amount, _):
            people.update(p) { $0.points += amount }
        case .pointsAdjusted(let p, let delta, _, _):
            people.update(p) { $0.points += delta }
        case .subscriptionRecorded(let chatter, let expiresAt, let createdAt):
            chatters[chatter, default: ChatterState(username: "")].subscriberUntil = expiresAt
            if remembersKeys, let createdAt {
                keys.record(
                    GuildState.contentKey(subscriber: chatter, expiresAt: expiresAt, createdAt: createdAt),
                    IdempotencyKeys.Outcome(
                        firstSequence: sequence, events: commandEvents, timestamp: timestamp, firstOffset: offset))
            }
        case .streamStatusReported(let isLive, let at):
            live = isLive
            liveKnown = true
            streamStatusAt = at
        case .shopItemCreated(let item), .shopItemEdited(let item):
            items[item.id] = item
        case .shopItemRestocked(let id, let stock): items[id]?.stock = stock
        case .shopItemDeactivated(let id): items[id]?.active = false
        case .itemPurchased(let order):
            orders[order.id] = order
            if order.id > lastOrder { lastOrder = order.id }
            people[order.person, default: PersonState()].points -= order.price
            if order.tickets > 0 { people[order.person]!.tickets[Int(TicketSource.shop.rawValue)] += order.tickets }
            if let stock = items[order.item]?.stock, stock > 0 { items[order.item]!.stock = stock - 1 }
            purchases[order.item, default: [:]][order.person, default: []].append(
                PurchaseSlot(order: order.id, time: timestamp))
        case .orderFulfilled(let id, _): orders[id]?.status = .completed
        case .orderCancelled(let id, let refund, _, _, let refundTo):
            guard let order = orders[id] else { break }
            orders[id]!.status = .cancelled
            if let stock = items[order.item]?.stock, stock >= 0 { items[order.item]!.stock = stock + 1 }
            if let to = refundTo {
                // Version 2: the named person (the buyer's owner) gets the refund and the cancelled
                // order's own slot is freed, wherever a merge moved it.
                people[to, default: PersonState()].points += refund
                for holder in [to, order.person] {
                    if let i = purchases[order.item]?[holder]?.firstIndex(where: { $0.order == id }) {
                        purchases[order.item]![holder]!.remove(at: i)
                        break
                    }
                }
            } else {
                // Version 1, replayed as it was decided: the order's person, the newest slot.
                people[order.person, default: PersonState()].points += refund
                if var slots = purchases[order.item]?[order.person], !slots.isEmpty {
                    slots.removeLast()
                    purchases[order.item]![order.person] = slots
                }
            }
        case .purchaseLimitReset(let item, let person):
            if let person { purchases[item]?[person] = nil } else { purchases[item] = nil }
        case .rafflePeriodOpened(let period):
            raffle.current = period
            raffle.lastPeriod = period.id
            raffle.periods[period.id] = period
            raffle.draws = []
            people.updateAll { person in
                person.tickets = TicketCounts()
                person.periodMinutes = 0
                person.periodHoursPaid = 0
            }
        case .rafflePeriodClosed(let id, let table, let round):
            if raffle.current?.id == id { raffle.current = nil }
            if let table { raffle.tables[id] = table }
            if round != 0 { raffle.periods[id]?.beaconRound = round }
        case .raffleBeaconRecorded(let id, let beacon):
            raffle.beacons[id] = beacon
        case .ticketsGranted(let p, let amount, let source, _):
            people.update(p) { $0.tickets[Int(source.rawValue)] += amount }
        case .ticketsRemoved(let p, let amount, let source, _):
            people.update(p) { $0.tickets[Int(source.rawValue)] -= amount }
        case .raffleExclusionChanged(let p, let excluded):
            people.update(p) { $0.excluded = excluded }
        case .raffleWinnerDrawn(let draw):
            raffle.draws.append(draw)
            raffle.history[draw.period, default: []].append(draw)
            raffle.revealedSeeds[draw.period] = draw.seed
        case .raffleSeedRevealed(let id, let seed): raffle.revealedSeeds[id] = seed
        case .giftedSubsRecorded(let gifter, let count, let giftees, let createdAt):
            if remembersKeys, let createdAt {
                keys.record(
                    GuildState.contentKey(gifter: gifter, count: count, giftees: giftees, createdAt: createdAt),
                    IdempotencyKeys.Outcome(
                        firstSequence: sequence, events: commandEvents, timestamp: timestamp, firstOffset: offset))
            }
        case .linkRequested(let user, let expiresAt): pendingLinks[user] = expiresAt
        case .accountLinked(let user, let chatter, let username):
            links[user] = chatter
            chatters[chatter, default: ChatterState(username: username)].linkedUser = user
            chatters[chatter]!.username = username
            pendingLinks.removeValue(forKey: user)
        case .linkRejected(let user, _, _): pendingLinks.removeValue(forKey: user)
        case .accountUnlinked(let user, _):
            if let chatter = links.removeValue(forKey: user) { chatters[chatter]?.linkedUser = nil }
        case .platformUsernameChanged(let chatter, _, let to): chatters[chatter]?.username = to
        case .kickChannelConnected(let channel): kickChannel = channel
        case .chatCommandUsed(let chatter, _):
            lastChatCommand[chatter] = timestamp
            if lastChatCommand.count > 4096 {
                // Entries older than the longest cooldown can no longer refuse anything.
                let horizon = timestamp.rawValue - SettingKey.chatCommandCooldownSeconds.validRange.upperBound * 1000
                lastChatCommand = lastChatCommand.filter { $0.value.rawValue >= horizon }
            }
        case .deliveryRequested(let delivery):
            deliveries[delivery.id] = delivery
            lastDelivery = max(lastDelivery, delivery.id)
        case .deliveryRecorded(let id, _, _):
            // A role change delivered (or refused for good) leaves the role outbox too.
            if case .discordRole(let user, let role, let grant) = deliveries.removeValue(forKey: id)?.destination {
                outbox.removeValue(forKey: RoleChange(user: user, role: role, grant: grant))
            }
        case .kickAuthorizationStarted(let authorization):
            kickAuthorizations = kickAuthorizations.filter { $0.value.expiresAt > timestamp }
            kickAuthorizations[authorization.state] = authorization
        case .kickAuthorizationFinished(let state): kickAuthorizations.removeValue(forKey: state)
        case .giftedSubsUnattributed: break
        case .chatterEarningsMerged(let chatter, let user, _, _, _):
            mergePerson(.kick(chatter), into: .discord(user))
        case .game(let game): games.apply(game, sequence: sequence, timestamp: timestamp)
        case .legacyPersonImported, .legacyRecordImported, .legacyRoleThresholdImported, .legacyOrderImported,
            .legacyPeriodImported:
            applyLegacy(event, sequence: sequence, timestamp: timestamp, offset: offset)
        case .kickNameResolved(let name, let chatter):
            applyKickNameResolved(name, chatter)
        }
        lastSequence = sequence
        lastTimestamp = timestamp
        if remembersKeys, let key, !key.isEmpty {
            keys.record(
                key,
                IdempotencyKeys.Outcome(
                    firstSequence: sequence, events: commandEvents, timestamp: timestamp, firstOffset: offset))
        }
    }

    /// Changes one person in place with a single index lookup.
    @inline(__always)
    private mutating func modifyPerson(_ id: PersonID, _ body: (inout PersonState) -> Void) {
        people.update(id, body)
    }

    mutating func mergePerson(_ from: PersonID, into to: PersonID) {
        guard let source = people.removeValue(forKey: from) else { return }
        var target = people[to] ?? PersonState()
        target.minutes += source.minutes
        target.unconvertedMinutes += source.unconvertedMinutes
        target.points += source.points
        target.pointsEarned += source.pointsEarned
        target.periodMinutes += source.periodMinutes
        target.periodHoursPaid += source.periodHoursPaid
        for i in 0..<4 { target.tickets[i] += source.tickets[i] }
        target.excluded = target.excluded || source.excluded
        people[to] = target
        for item in purchases.keys {
            if let times = purchases[item]?.removeValue(forKey: from) {
                purchases[item]![to, default: []].append(contentsOf: times)
            }
        }
    }
}
