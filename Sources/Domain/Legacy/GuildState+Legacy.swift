public import EventLog

/// A guild's import from the old bot: its events, as the importer built them from the old rows, and
/// whether the guild may already hold Tally history (`--merge`).
public struct LegacyImport: Hashable, Sendable {
    /// Import events only: ``DomainEvent/legacyPersonImported(_:)``, ``DomainEvent/legacyRecordImported(_:_:)``
    /// (settings, shop items, the open period, its tickets and exclusions), role names, orders and ended periods.
    public var events: [DomainEvent]
    public var merge: Bool

    public init(events: [DomainEvent], merge: Bool) {
        self.events = events
        self.merge = merge
    }
}

/// What deciding an import would append, and what it leaves out and why.
public struct LegacyImportOutcome: Sendable {
    public var events: [DomainEvent] = []
    /// Rows left out: already imported, or (with `--merge`) already present in Tally.
    public var skipped: [(rows: [LegacyRow], reason: String)] = []
}

extension DomainEvent {
    /// The old rows an import event came from (empty for every other event).
    public var legacySources: [LegacyRow] {
        switch self {
        case .legacyPersonImported(let p): p.sources
        case .legacyRecordImported(let row, _): [row]
        case .legacyRoleThresholdImported(let t): [t.source]
        case .legacyOrderImported(let o): [o.source]
        case .legacyPeriodImported(let p): [p.source] + p.draws.map(\.source)
        default: []
        }
    }
}

extension GuildState {
    /// Whether the guild holds events that no import wrote.
    public var hasNativeHistory: Bool { lastSequence > legacy.importedEvents }

    /// Decides an import: every event is checked by the rules its kind of fact obeys (a setting's
    /// range, a shop item's fields, a period's span, amounts never negative, a Kick name linked to one
    /// Discord user), against the state as the earlier events of the same import leave it.
    ///
    /// Rows imported before are left out (so a second run appends nothing). A guild with native
    /// history is refused unless `merge`, and then only people absent from Tally are created.
    ///
    /// - Throws: ``Rejection`` whose message begins with the offending `table#row`.
    public func decideImport(_ batch: LegacyImport, time: Timestamp) throws -> LegacyImportOutcome {
        let native = hasNativeHistory
        if native && legacy.importedEvents == 0 && !batch.merge {
            throw Rejection(
                .historyExists,
                "guild \(guild) already holds Tally history; import with --merge to add only the people it lacks")
        }
        let onlyPeople = native && batch.merge
        let checkPresence = native || legacy.importedEvents > 0
        var s = self
        s.remembersKeys = false
        var outcome = LegacyImportOutcome()
        let context = CommandContext(key: "legacy-import", time: time)
        var chatterNames: Set<String>? = nil
        func reject(_ rows: [LegacyRow], _ r: Rejection) -> Rejection {
            Rejection(r.code, "\(rows.map(\.description).joined(separator: ", ")): \(r.message)")
        }
        for event in batch.events {
            let rows = event.legacySources
            guard !rows.isEmpty else {
                throw Rejection(
                    .internalError, "an import holds only import events, not \(EventCodec.info(event).name)")
            }
            // Against the rows imported before this import: one row may make several events here
            // (a ticket row, one grant per source).
            if rows.allSatisfy({ legacy.importedRows.contains($0.key) }) {
                outcome.skipped.append((rows, "already imported"))
                continue
            }
            var produced: [DomainEvent]
            do {
                switch event {
                case .legacyPersonImported(let p):
                    try s.checkImported(p)
                    if checkPresence {
                        if chatterNames == nil {
                            chatterNames = Set(s.chatters.values.map { $0.username.lowercased() })
                        }
                        if s.isPresent(p.person, chatterNames: chatterNames!) {
                            outcome.skipped.append((rows, "\(p.person) is already in Tally"))
                            continue
                        }
                    }
                    produced = [event]
                case .legacyRecordImported(let row, let inner):
                    if onlyPeople {
                        outcome.skipped.append((rows, "the guild has Tally history: --merge adds people only"))
                        continue
                    }
                    produced = try s.importedRecord(inner, context).map { .legacyRecordImported(row, $0) }
                    if produced.isEmpty {
                        outcome.skipped.append((rows, "Tally holds the same value already"))
                        continue
                    }
                case .legacyRoleThresholdImported(let t):
                    if onlyPeople {
                        outcome.skipped.append((rows, "the guild has Tally history: --merge adds people only"))
                        continue
                    }
                    guard !t.name.isEmpty, t.name.utf8.count <= 100 else {
                        throw Rejection(.invalidText, "a role name is 1 to 100 bytes")
                    }
                    guard t.minutes >= 0, t.minutes <= GuildState.maxAmount else {
                        throw Rejection(.invalidAmount, "role \(t.name) needs \(t.minutes) minutes")
                    }
                    produced = [event]
                case .legacyOrderImported(var o):
                    if onlyPeople {
                        outcome.skipped.append((rows, "the guild has Tally history: --merge adds people only"))
                        continue
                    }
                    guard s.items[o.order.item] != nil else {
                        throw Rejection(.unknownItem, "no shop item \(o.order.item) for this order")
                    }
                    guard o.order.price >= 0, o.order.price <= GuildState.maxAmount, o.order.tickets >= 0 else {
                        throw Rejection(.invalidAmount, "an order's price is between 0 and \(GuildState.maxAmount)")
                    }
                    o.order.id = OrderID(s.lastOrder.rawValue + 1)
                    produced = [.legacyOrderImported(o)]
                case .legacyPeriodImported:
                    if onlyPeople {
                        outcome.skipped.append((rows, "the guild has Tally history: --merge adds people only"))
                        continue
                    }
                    produced = [event]
                default:
                    throw Rejection(.internalError, "not an import event")
                }
            } catch let r as Rejection {
                throw reject(rows, r)
            }
            for e in produced {
                s.apply(e, sequence: s.lastSequence + 1, timestamp: time)
                outcome.events.append(e)
            }
        }
        return outcome
    }

    /// The amounts of an imported person are never negative, and a Kick name is linked to one
    /// Discord user.
    private func checkImported(_ p: LegacyPerson) throws {
        for (value, what) in [
            (p.minutes, "watch minutes"), (p.points, "balance"), (p.pointsEarned, "points earned"),
            (p.pointsSpent, "points spent"), (p.periodMinutes, "period minutes"),
            (p.unconvertedMinutes, "unconverted minutes"),
        ] {
            guard value >= 0 else { throw Rejection(.invalidAmount, "negative \(what) (\(value))") }
            guard value <= GuildState.maxAmount else {
                throw Rejection(.invalidAmount, "\(what) out of range (\(value))")
            }
        }
        switch p.person {
        case .discord(let user):
            guard !p.kickName.isEmpty else { break }
            if let other = legacy.linkedNames[p.kickName], other != user {
                throw Rejection(
                    .alreadyLinked, "Kick name \(p.kickName) is linked to Discord users \(other) and \(user)")
            }
            if let native = chatters.first(where: { $0.value.username.lowercased() == p.kickName })?.value.linkedUser,
                native != user
            {
                throw Rejection(
                    .alreadyLinked, "Kick name \(p.kickName) is linked to Discord user \(native) in Tally, not \(user)")
            }
        case .kickName(let name):
            guard !name.isEmpty, name.utf8.count <= 64, name == name.lowercased() else {
                throw Rejection(.invalidText, "a provisional Kick name is 1 to 64 lower-case bytes, not “\(name)”")
            }
        case .kick:
            throw Rejection(.internalError, "the old bot never knew Kick ids")
        }
    }

    /// Whether a person the import would create is in Tally already (for `--merge` and reruns).
    private func isPresent(_ person: PersonID, chatterNames: Set<String>) -> Bool {
        switch person {
        case .discord(let user):
            return people[person] != nil || links[user] != nil || legacy.links[user] != nil
        case .kickName(let name):
            return people[person] != nil || chatterNames.contains(name)
        case .kick:
            return people[person] != nil
        }
    }

    /// An imported record through the rule of the command that would have made it.
    private func importedRecord(_ inner: DomainEvent, _ c: CommandContext) throws -> [DomainEvent] {
        switch inner {
        case .settingChanged(let key, let value):
            return try rules(.setSetting(key, value), c)
        case .shopItemCreated(let item):
            var events = try rules(.createShopItem(item), c)
            if !item.active { events.append(.shopItemDeactivated(item.id)) }
            return events
        case .rafflePeriodOpened(let period):
            return try rules(
                .openRafflePeriod(
                    startsAt: period.startsAt, endsAt: period.endsAt, seedCommitment: period.seedCommitment),
                c)
        case .ticketsGranted(let person, let amount, let source, let reason):
            guard raffle.current != nil else { throw Rejection(.noOpenPeriod, "tickets need an open period") }
            guard case .discord = person else {
                throw Rejection(.invalidAmount, "only linked people hold tickets")
            }
            guard amount > 0, amount <= GuildState.maxAmount else {
                throw Rejection(.invalidAmount, "tickets are between 1 and \(GuildState.maxAmount), not \(amount)")
            }
            _ = try GuildState.sum(self.person(person).totalTickets, amount, "the tickets of \(person)")
            return [.ticketsGranted(person, amount: amount, source: source, reason: reason)]
        case .raffleExclusionChanged(let person, let excluded):
            return self.person(person).excluded == excluded ? [] : [inner]
        default:
            throw Rejection(.internalError, "\(EventCodec.info(inner).name) is not an importable record")
        }
    }

    /// Folds an import event (see ``apply(_:sequence:timestamp:offset:key:commandEvents:)``).
    mutating func applyLegacy(_ event: DomainEvent, sequence: UInt64, timestamp: Timestamp, offset: Offset?) {
        for row in event.legacySources { legacy.importedRows.insert(row.key) }
        legacy.importedEvents += 1
        switch event {
        case .legacyPersonImported(let p):
            var state = people[p.person] ?? PersonState()
            state.minutes += p.minutes
            state.unconvertedMinutes += p.unconvertedMinutes
            state.points += p.points
            state.pointsEarned += p.pointsEarned
            state.periodMinutes += p.periodMinutes
            state.periodHoursPaid = state.periodMinutes / 60
            people[p.person] = state
            if case .discord(let user) = p.person, !p.kickName.isEmpty, links[user] == nil {
                legacy.links[user] = p.kickName
                legacy.linkedNames[p.kickName] = user
            }
        case .legacyRecordImported(_, let inner):
            // The record's own fact, folded as when the command that makes it is decided.
            apply(inner, sequence: sequence, timestamp: timestamp, offset: offset)
        case .legacyRoleThresholdImported(let t):
            if !thresholds.values.contains(where: { $0.name == t.name }) { legacy.roles[t.name] = t }
        case .legacyOrderImported(let o):
            orders[o.order.id] = o.order
            if o.order.id > lastOrder { lastOrder = o.order.id }
            if o.order.status != .cancelled {
                purchases[o.order.item, default: [:]][o.order.person, default: []].append(
                    PurchaseSlot(order: o.order.id, time: o.placedAt))
            }
        case .legacyPeriodImported:
            legacy.periods += 1
        default:
            break
        }
    }

    /// Folds ``DomainEvent/kickNameResolved(name:_:)``: a provisional link becomes a link to the Kick
    /// id (when neither side is linked otherwise), and the provisional person's earnings move to
    /// whoever owns the Kick account now. Nothing is credited anew: amounts move.
    mutating func applyKickNameResolved(_ name: String, _ chatter: KickUserID) {
        if chatters[chatter] == nil { chatters[chatter] = ChatterState(username: name) }
        if let user = legacy.linkedNames.removeValue(forKey: name) {
            legacy.links.removeValue(forKey: user)
            if links[user] == nil, chatters[chatter]?.linkedUser == nil {
                links[user] = chatter
                chatters[chatter]!.linkedUser = user
                mergePerson(.kick(chatter), into: .discord(user))
            }
        }
        mergePerson(.kickName(name), into: owner(of: chatter))
    }

    /// The events that tie a provisional Kick name to the id a webhook or link shows it with.
    func resolution(of username: String, _ chatter: KickUserID) -> [DomainEvent] {
        let name = username.lowercased()
        return legacy.isPending(name, in: people) ? [.kickNameResolved(name: name, chatter)] : []
    }

    /// Thresholds imported by name that wait for a Discord role id, by position.
    public var unmappedRoles: [LegacyRoleThreshold] {
        legacy.roles.values.sorted { ($0.position, $0.name) < ($1.position, $1.name) }
    }

    /// The imported role names a linked person's minutes reach (enabled thresholds only): what the
    /// old bot would have granted, before the guild maps the names to role ids.
    public func eligibleRoleNames(_ user: UserID) -> [String] {
        let minutes = person(.discord(user)).minutes
        return unmappedRoles.filter { $0.enabled && minutes >= $0.minutes }.map(\.name)
    }
}
