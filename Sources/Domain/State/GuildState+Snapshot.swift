package import EventLog

extension GuildState {
    /// The snapshot format's version; a snapshot of another version is ignored (the log is replayed).
    public static let snapshotVersion: UInt8 = 6

    /// Appends the whole state in a compact binary form (see `PartitionSnapshot`). Global defaults
    /// are not included: they are configuration, supplied again when the snapshot is loaded.
    package func encodeSnapshot(into w: inout ByteWriter) {
        w.write(guild.rawValue)
        w.writeVarint(lastSequence)
        w.writeTime(lastTimestamp)
        w.writeVarint(UInt64(settings.overrides.count))
        for (k, v) in settings.overrides {
            w.writeVarint(UInt64(k.rawValue))
            w.writeInt(v)
        }
        w.writeBool(live)
        w.write(tracking.rawValue)
        w.writeVarint(UInt64(lastSpoke.count))
        for (k, t) in lastSpoke {
            w.writeVarint(k.rawValue)
            w.writeTime(t)
        }
        w.writeVarint(UInt64(pruneLastSpokeAt))
        w.writeVarint(UInt64(chatters.count))
        for (k, c) in chatters {
            w.writeVarint(k.rawValue)
            w.writeString(c.username)
            w.writeSnowflake(c.linkedUser?.rawValue ?? 0)
            w.writeBool(c.subscriberUntil != nil)
            if let until = c.subscriberUntil { w.writeTime(until) }
        }
        w.writeVarint(UInt64(people.count))
        for (id, p) in people {
            w.writePerson(id)
            for v in [
                p.minutes, p.unconvertedMinutes, p.points, p.pointsEarned, p.periodMinutes,
                p.tickets[0], p.tickets[1], p.tickets[2], p.tickets[3],
            ] { w.writeInt(v) }
            w.writeBool(p.excluded)
        }
        w.writeVarint(UInt64(links.count))
        for (u, k) in links {
            w.writeSnowflake(u.rawValue)
            w.writeVarint(k.rawValue)
        }
        w.writeVarint(UInt64(pendingLinks.count))
        for (u, t) in pendingLinks {
            w.writeSnowflake(u.rawValue)
            w.writeTime(t)
        }
        w.writeVarint(UInt64(thresholds.count))
        for t in thresholds.values { EventCodec.encodeFields(.roleThresholdSet(t), into: &w) }
        w.writeVarint(UInt64(grantedRoles.count))
        for (u, roles) in grantedRoles {
            w.writeSnowflake(u.rawValue)
            w.writeVarint(UInt64(roles.count))
            for r in roles { w.writeSnowflake(r.rawValue) }
        }
        w.writeVarint(UInt64(outbox.count))
        for (change, t) in outbox {
            w.writeSnowflake(change.user.rawValue)
            w.writeSnowflake(change.role.rawValue)
            w.writeBool(change.grant)
            w.writeTime(t)
        }
        w.writeVarint(UInt64(items.count))
        for item in items.values { EventCodec.encodeItem(item, into: &w) }
        w.writeVarint(UInt64(orders.count))
        for order in orders.values { EventCodec.encodeFields(.itemPurchased(order), into: &w) }
        w.writeVarint(UInt64(purchases.count))
        for (item, byPerson) in purchases {
            w.writeVarint(UInt64(item.rawValue))
            w.writeVarint(UInt64(byPerson.count))
            for (p, slots) in byPerson {
                w.writePerson(p)
                w.writeVarint(UInt64(slots.count))
                for slot in slots {
                    w.writeVarint(slot.order.rawValue)
                    w.writeTime(slot.time)
                }
            }
        }
        w.writeVarint(lastOrder.rawValue)
        // Raffle
        w.writeBool(raffle.current != nil)
        if let current = raffle.current { EventCodec.encodeFields(.rafflePeriodOpened(current), into: &w) }
        w.writeVarint(UInt64(raffle.lastPeriod.rawValue))
        w.writeVarint(UInt64(raffle.draws.count))
        for d in raffle.draws { EventCodec.encodeFields(.raffleWinnerDrawn(d), into: &w) }
        w.writeVarint(UInt64(raffle.history.count))
        for (period, draws) in raffle.history {
            w.writeVarint(UInt64(period.rawValue))
            w.writeVarint(UInt64(draws.count))
            for d in draws { EventCodec.encodeFields(.raffleWinnerDrawn(d), into: &w) }
        }
        w.writeVarint(UInt64(raffle.periods.count))
        for p in raffle.periods.values { EventCodec.encodeFields(.rafflePeriodOpened(p), into: &w) }
        w.writeVarint(UInt64(raffle.revealedSeeds.count))
        for (period, seed) in raffle.revealedSeeds {
            w.writeVarint(UInt64(period.rawValue))
            w.writeData(seed)
        }
        // Kick and the outbox (version 3)
        w.writeBool(kickChannel != nil)
        if let kickChannel { EventCodec.encodeFields(.kickChannelConnected(kickChannel), into: &w) }
        w.writeVarint(UInt64(lastChatCommand.count))
        for (chatter, t) in lastChatCommand {
            w.writeVarint(chatter.rawValue)
            w.writeTime(t)
        }
        w.writeVarint(UInt64(deliveries.count))
        for delivery in deliveries.values { EventCodec.encodeDelivery(delivery, into: &w) }
        w.writeVarint(lastDelivery.rawValue)
        w.writeVarint(UInt64(kickAuthorizations.count))
        for a in kickAuthorizations.values { EventCodec.encodeFields(.kickAuthorizationStarted(a), into: &w) }
        w.writeVarint(UInt64(raffle.tables.count))
        for (period, table) in raffle.tables {
            w.writeVarint(UInt64(period.rawValue))
            EventCodec.encodeTable(table, into: &w)
        }
        w.writeVarint(UInt64(raffle.beacons.count))
        for (period, beacon) in raffle.beacons {
            EventCodec.encodeFields(.raffleBeaconRecorded(period, beacon), into: &w)
        }
        w.writeBool(liveKnown)
        w.writeOptionalTime(streamStatusAt)
        w.writeOptionalTime(lastTickAt)
        w.writeVarint(UInt64(people.count))
        for (id, p) in people {
            w.writePerson(id)
            w.writeInt(p.periodHoursPaid)
        }
        // Chat games and messages (version 6)
        games.encodeSnapshot(into: &w)
        // Idempotency keys, in expiry order.
        w.writeVarint(UInt64(keys.count))
        for entry in keys.liveEntries {
            w.write(entry.key.high)
            w.write(entry.key.low)
            w.writeVarint(entry.firstSequence)
            w.writeVarint(UInt64(entry.events))
            w.writeTime(Timestamp(milliseconds: entry.timestamp))
            w.writeVarint(entry.offsetPlusOne)
        }
        // Imports (version 5)
        w.writeVarint(UInt64(legacy.importedRows.count))
        for row in legacy.importedRows.sorted() { w.write(row) }
        w.writeVarint(legacy.importedEvents)
        w.writeVarint(UInt64(legacy.links.count))
        for (user, name) in legacy.links.sorted(by: { $0.key < $1.key }) {
            w.writeSnowflake(user.rawValue)
            w.writeString(name)
        }
        w.writeVarint(UInt64(legacy.roles.count))
        for t in legacy.roles.values.sorted(by: { $0.name < $1.name }) {
            EventCodec.encodeFields(.legacyRoleThresholdImported(t), into: &w)
        }
        w.writeVarint(UInt64(legacy.periods))
    }

    /// Reads a state written by ``encodeSnapshot(into:)``.
    package static func decodeSnapshot(
        from r: inout ByteReader, globalDefaults: [SettingKey: Int64], remembersKeys: Bool
    ) throws(ByteReader.Overrun) -> GuildState {
        func count() throws(ByteReader.Overrun) -> Int {
            let n = try r.readVarint()
            guard n <= UInt64(r.remaining) else { throw ByteReader.Overrun() }
            return Int(n)
        }
        /// A varint no larger than `limit`, so that converting it can never trap.
        func bounded(_ limit: UInt64) throws(ByteReader.Overrun) -> UInt64 {
            let v = try r.readVarint()
            guard v <= limit else { throw ByteReader.Overrun() }
            return v
        }
        func event(_ tag: UInt16) throws(ByteReader.Overrun) -> DomainEvent {
            guard let e = try EventCodec.decodeFields(tag: tag, version: EventCodec.currentVersion(of: tag), &r) else {
                throw ByteReader.Overrun()
            }
            return e
        }
        var s = GuildState(guild: GuildID(try r.read(UInt64.self)), globalDefaults: globalDefaults)
        s.remembersKeys = remembersKeys
        s.lastSequence = try r.readVarint()
        s.lastTimestamp = try r.readTime()
        for _ in 0..<(try count()) {
            s.settings.overrides[SettingKey(rawValue: UInt16(truncatingIfNeeded: try r.readVarint()))] = try r.readInt()
        }
        s.live = try r.readBool()
        guard let tracking = TrackingMode(rawValue: try r.read(UInt8.self)) else { throw ByteReader.Overrun() }
        s.tracking = tracking
        for _ in 0..<(try count()) { s.lastSpoke[KickUserID(try r.readVarint())] = try r.readTime() }
        s.pruneLastSpokeAt = Int(try bounded(UInt64(Int32.max)))
        for _ in 0..<(try count()) {
            let k = KickUserID(try r.readVarint())
            var c = ChatterState(username: try r.readString())
            let linked = try r.readSnowflake()
            c.linkedUser = linked == 0 ? nil : UserID(linked)
            if try r.readBool() { c.subscriberUntil = try r.readTime() }
            s.chatters[k] = c
        }
        let peopleCount = try count()
        s.people.reserveCapacity(peopleCount)
        for _ in 0..<peopleCount {
            let id = try r.readPerson()
            var p = PersonState()
            p.minutes = try r.readInt()
            p.unconvertedMinutes = try r.readInt()
            p.points = try r.readInt()
            p.pointsEarned = try r.readInt()
            p.periodMinutes = try r.readInt()
            for i in 0..<4 { p.tickets[i] = try r.readInt() }
            p.excluded = try r.readBool()
            s.people[id] = p
        }
        for _ in 0..<(try count()) { s.links[UserID(try r.readSnowflake())] = KickUserID(try r.readVarint()) }
        for _ in 0..<(try count()) { s.pendingLinks[UserID(try r.readSnowflake())] = try r.readTime() }
        for _ in 0..<(try count()) {
            guard case .roleThresholdSet(let t) = try event(8) else { throw ByteReader.Overrun() }
            s.thresholds[t.role] = t
        }
        for _ in 0..<(try count()) {
            let u = UserID(try r.readSnowflake())
            var roles = Set<RoleID>()
            for _ in 0..<(try count()) { roles.insert(RoleID(try r.readSnowflake())) }
            s.grantedRoles[u] = roles
        }
        for _ in 0..<(try count()) {
            let change = RoleChange(
                user: UserID(try r.readSnowflake()), role: RoleID(try r.readSnowflake()), grant: try r.readBool())
            s.outbox[change] = try r.readTime()
        }
        for _ in 0..<(try count()) {
            let item = try EventCodec.decodeItem(&r)
            s.items[item.id] = item
        }
        for _ in 0..<(try count()) {
            guard case .itemPurchased(let order) = try event(22) else { throw ByteReader.Overrun() }
            s.orders[order.id] = order
        }
        for _ in 0..<(try count()) {
            let item = ItemID(UInt32(truncatingIfNeeded: try r.readVarint()))
            var byPerson: [PersonID: [PurchaseSlot]] = [:]
            for _ in 0..<(try count()) {
                let p = try r.readPerson()
                var slots: [PurchaseSlot] = []
                for _ in 0..<(try count()) {
                    slots.append(PurchaseSlot(order: OrderID(try r.readVarint()), time: try r.readTime()))
                }
                byPerson[p] = slots
            }
            s.purchases[item] = byPerson
        }
        s.lastOrder = OrderID(try r.readVarint())
        if try r.readBool() {
            guard case .rafflePeriodOpened(let period) = try event(26) else { throw ByteReader.Overrun() }
            s.raffle.current = period
        }
        s.raffle.lastPeriod = PeriodID(UInt32(truncatingIfNeeded: try r.readVarint()))
        for _ in 0..<(try count()) {
            guard case .raffleWinnerDrawn(let d) = try event(31) else { throw ByteReader.Overrun() }
            s.raffle.draws.append(d)
        }
        for _ in 0..<(try count()) {
            let period = PeriodID(UInt32(truncatingIfNeeded: try r.readVarint()))
            var draws: [RaffleDraw] = []
            for _ in 0..<(try count()) {
                guard case .raffleWinnerDrawn(let d) = try event(31) else { throw ByteReader.Overrun() }
                draws.append(d)
            }
            s.raffle.history[period] = draws
        }
        for _ in 0..<(try count()) {
            guard case .rafflePeriodOpened(let period) = try event(26) else { throw ByteReader.Overrun() }
            s.raffle.periods[period.id] = period
        }
        for _ in 0..<(try count()) {
            s.raffle.revealedSeeds[PeriodID(UInt32(truncatingIfNeeded: try r.readVarint()))] = try r.readData()
        }
        if try r.readBool() {
            guard case .kickChannelConnected(let channel) = try event(64) else { throw ByteReader.Overrun() }
            s.kickChannel = channel
        }
        for _ in 0..<(try count()) { s.lastChatCommand[KickUserID(try r.readVarint())] = try r.readTime() }
        for _ in 0..<(try count()) {
            let delivery = try EventCodec.decodeDelivery(&r)
            s.deliveries[delivery.id] = delivery
        }
        s.lastDelivery = DeliveryID(try r.readVarint())
        for _ in 0..<(try count()) {
            guard case .kickAuthorizationStarted(let a) = try event(68) else { throw ByteReader.Overrun() }
            s.kickAuthorizations[a.state] = a
        }
        for _ in 0..<(try count()) {
            let period = PeriodID(UInt32(truncatingIfNeeded: try r.readVarint()))
            s.raffle.tables[period] = try EventCodec.decodeTable(&r)
        }
        for _ in 0..<(try count()) {
            guard case .raffleBeaconRecorded(let period, let beacon) = try event(40) else { throw ByteReader.Overrun() }
            s.raffle.beacons[period] = beacon
        }
        s.liveKnown = try r.readBool()
        s.streamStatusAt = try r.readOptionalTime()
        s.lastTickAt = try r.readOptionalTime()
        for _ in 0..<(try count()) {
            let id = try r.readPerson()
            let paid = try r.readInt()
            guard s.people[id] != nil else { throw ByteReader.Overrun() }
            s.people[id]!.periodHoursPaid = paid
        }
        s.games = try GamesState.decodeSnapshot(from: &r)
        let keyCount = try count()
        s.keys.reserveCapacity(keyCount)
        for _ in 0..<keyCount {
            let hash = IdempotencyKeys.KeyHash(high: try r.read(UInt64.self), low: try r.read(UInt64.self))
            let firstSequence = try r.readVarint()
            let events = Int(try bounded(UInt64(Int32.max)))
            let timestamp = try r.readTime()
            let offset = try r.readVarint()
            let outcome = IdempotencyKeys.Outcome(
                firstSequence: firstSequence, events: events, timestamp: timestamp,
                firstOffset: offset == 0 ? nil : Offset(offset - 1))
            s.keys.restore(hash, outcome)
        }
        s.keys.trimToMaximum()
        let rows = try count()
        s.legacy.importedRows.reserveCapacity(rows)
        for _ in 0..<rows { s.legacy.importedRows.insert(try r.read(UInt64.self)) }
        s.legacy.importedEvents = try r.readVarint()
        for _ in 0..<(try count()) {
            let user = UserID(try r.readSnowflake())
            let name = try r.readString()
            s.legacy.links[user] = name
            s.legacy.linkedNames[name] = user
        }
        for _ in 0..<(try count()) {
            guard case .legacyRoleThresholdImported(let t) = try event(82) else { throw ByteReader.Overrun() }
            s.legacy.roles[t.name] = t
        }
        s.legacy.periods = Int(try bounded(UInt64(Int32.max)))
        return s
    }
}
