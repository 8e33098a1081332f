import EventLog

extension EventCodec {
    static func encodeFields(_ event: DomainEvent, into w: inout ByteWriter) {
        switch event {
        case .settingChanged(let key, let value):
            w.writeVarint(UInt64(key.rawValue))
            w.writeInt(value)
        case .settingCleared(let key):
            w.writeVarint(UInt64(key.rawValue))
        case .streamWentLive, .streamWentOffline:
            break
        case .trackingOverridden(let mode):
            w.write(mode.rawValue)
        case .chatterSeen(let chatter, let username):
            w.writeVarint(chatter.rawValue)
            w.writeString(username)
        case .watchTimeAccrued(let credited, let minutes):
            w.writeInt(minutes)
            w.writeVarint(UInt64(credited.count))
            for p in credited { w.writePerson(p) }
        case .roleThresholdSet(let t):
            w.writeSnowflake(t.role.rawValue)
            w.writeString(t.name)
            w.writeInt(t.minutes)
            w.writeInt(Int64(t.position))
            w.writeBool(t.enabled)
        case .roleThresholdRemoved(let role):
            w.writeSnowflake(role.rawValue)
        case .roleGrantRequested(let user, let role), .roleRevokeRequested(let user, let role):
            w.writeSnowflake(user.rawValue)
            w.writeSnowflake(role.rawValue)
        case .roleDeliveryRecorded(let user, let role, let granted, let outcome, let detail):
            w.writeSnowflake(user.rawValue)
            w.writeSnowflake(role.rawValue)
            w.writeBool(granted)
            w.write(outcome.rawValue)
            w.writeString(detail)
        case .pointsEarned(let person, let points, let minutes, let subscriber):
            w.writePerson(person)
            w.writeInt(points)
            w.writeInt(minutes)
            w.writeBool(subscriber)
        case .pointsSpent(let person, let amount, let reason):
            w.writePerson(person)
            w.writeInt(amount)
            w.writeString(reason)
        case .pointsRefunded(let person, let amount, let order):
            w.writePerson(person)
            w.writeInt(amount)
            w.writeVarint(order.rawValue)
        case .pointsAdjusted(let person, let delta, let reason, let by):
            w.writePerson(person)
            w.writeInt(delta)
            w.writeString(reason)
            w.writeSnowflake(by.rawValue)
        case .subscriptionRecorded(let chatter, let expiresAt, let createdAt):
            w.writeVarint(chatter.rawValue)
            w.writeTime(expiresAt)
            w.writeOptionalTime(createdAt)
        case .shopItemCreated(let item), .shopItemEdited(let item):
            encodeItem(item, into: &w)
        case .shopItemRestocked(let item, let stock):
            w.writeVarint(UInt64(item.rawValue))
            w.writeInt(stock)
        case .shopItemDeactivated(let item):
            w.writeVarint(UInt64(item.rawValue))
        case .itemPurchased(let order):
            w.writeVarint(order.id.rawValue)
            w.writeVarint(UInt64(order.item.rawValue))
            w.writePerson(order.person)
            w.writeInt(order.price)
            w.writeInt(order.tickets)
            w.writeVarint(UInt64(order.period?.rawValue ?? 0))
            w.writeString(order.requirement)
            w.write(order.status.rawValue)
        case .orderFulfilled(let order, let by):
            w.writeVarint(order.rawValue)
            w.writeSnowflake(by.rawValue)
        case .orderCancelled(let order, let refund, let by, let reason, let refundTo):
            w.writeVarint(order.rawValue)
            w.writeInt(refund)
            w.writeSnowflake(by.rawValue)
            w.writeString(reason)
            w.writeOptionalPerson(refundTo)
        case .purchaseLimitReset(let item, let person):
            w.writeVarint(UInt64(item.rawValue))
            w.writeOptionalPerson(person)
        case .rafflePeriodOpened(let period):
            w.writeVarint(UInt64(period.id.rawValue))
            w.writeTime(period.startsAt)
            w.writeTime(period.endsAt)
            w.writeData(period.seedCommitment)
            w.writeVarint(period.beaconRound)
        case .rafflePeriodClosed(let period, let table, let round):
            w.writeVarint(UInt64(period.rawValue))
            w.writeVarint(round)
            w.writeBool(table != nil)
            if let table { encodeTable(table, into: &w) }
        case .ticketsGranted(let person, let amount, let source, let reason),
            .ticketsRemoved(let person, let amount, let source, let reason):
            w.writePerson(person)
            w.writeInt(amount)
            w.write(source.rawValue)
            w.writeString(reason)
        case .raffleExclusionChanged(let person, let excluded):
            w.writePerson(person)
            w.writeBool(excluded)
        case .raffleWinnerDrawn(let d):
            w.writeVarint(UInt64(d.period.rawValue))
            w.writeVarint(UInt64(d.number))
            w.writeData(d.seed)
            w.writeInt(d.totalTickets)
            w.writeInt(d.winningTicket)
            w.writePerson(d.winner)
            w.writeInt(d.winnerTickets)
            w.writeVarint(UInt64(d.participants))
            w.writeData(d.participantsDigest)
            w.writeVarint(d.beaconRound)
            w.writeData(d.beacon)
            w.writeVarint(UInt64(d.replaces))
            w.writeString(d.reason)
        case .raffleBeaconRecorded(let period, let beacon):
            w.writeVarint(UInt64(period.rawValue))
            w.writeVarint(beacon.round)
            w.writeData(beacon.value)
        case .raffleSeedRevealed(let period, let seed):
            w.writeVarint(UInt64(period.rawValue))
            w.writeData(seed)
        case .giftedSubsRecorded(let gifter, let count, let giftees, let createdAt):
            w.writeVarint(gifter.rawValue)
            w.writeInt(count)
            w.writeVarint(UInt64(giftees.count))
            for g in giftees { w.writeVarint(g.rawValue) }
            w.writeOptionalTime(createdAt)
        case .streamStatusReported(let live, let at):
            w.writeBool(live)
            w.writeTime(at)
        case .linkRequested(let user, let expiresAt):
            w.writeSnowflake(user.rawValue)
            w.writeTime(expiresAt)
        case .accountLinked(let user, let chatter, let username):
            w.writeSnowflake(user.rawValue)
            w.writeVarint(chatter.rawValue)
            w.writeString(username)
        case .linkRejected(let user, let chatter, let reason):
            w.writeSnowflake(user.rawValue)
            w.writeVarint(chatter.rawValue)
            w.writeString(reason)
        case .accountUnlinked(let user, let by):
            w.writeSnowflake(user.rawValue)
            w.writeSnowflake(by.rawValue)
        case .platformUsernameChanged(let chatter, let from, let to):
            w.writeVarint(chatter.rawValue)
            w.writeString(from)
            w.writeString(to)
        case .chatterEarningsMerged(let chatter, let user, let minutes, let points, let tickets):
            w.writeVarint(chatter.rawValue)
            w.writeSnowflake(user.rawValue)
            w.writeInt(minutes)
            w.writeInt(points)
            w.writeInt(tickets)
        case .kickChannelConnected(let channel):
            w.writeVarint(channel.broadcaster.rawValue)
            w.writeString(channel.slug)
        case .chatCommandUsed(let chatter, let command):
            w.writeVarint(chatter.rawValue)
            w.writeString(command)
        case .deliveryRequested(let delivery):
            encodeDelivery(delivery, into: &w)
        case .deliveryRecorded(let id, let outcome, let detail):
            w.writeVarint(id.rawValue)
            w.write(outcome.rawValue)
            w.writeString(detail)
        case .kickAuthorizationStarted(let a):
            w.writeString(a.state)
            w.writeSnowflake(a.user.rawValue)
            w.writeString(a.verifier)
            w.writeTime(a.expiresAt)
        case .kickAuthorizationFinished(let state):
            w.writeString(state)
        case .giftedSubsUnattributed(let count, let reason):
            w.writeInt(count)
            w.writeString(reason)
        case .legacyPersonImported, .legacyRecordImported, .legacyRoleThresholdImported, .legacyOrderImported,
            .legacyPeriodImported, .kickNameResolved:
            encodeLegacyFields(event, into: &w)
        }
    }

    /// A delivery: its id, when it was requested, a destination kind byte and that kind's fields.
    static func encodeDelivery(_ delivery: Delivery, into w: inout ByteWriter) {
        w.writeVarint(delivery.id.rawValue)
        w.writeTime(delivery.requestedAt)
        switch delivery.destination {
        case .kickChat(let broadcaster, let content, let replyTo):
            w.write(UInt8(0))
            w.writeVarint(broadcaster.rawValue)
            w.writeString(content)
            w.writeString(replyTo ?? "")
        case .kickSubscriptions(let broadcaster, let events):
            w.write(UInt8(1))
            w.writeVarint(broadcaster.rawValue)
            w.writeVarint(UInt64(events.count))
            for event in events { w.writeString(event) }
        case .discordRole(let user, let role, let grant):
            w.write(UInt8(2))
            w.writeVarint(user.rawValue)
            w.writeVarint(role.rawValue)
            w.write(UInt8(grant ? 1 : 0))
        case .discordMessage(let channel, let content):
            w.write(UInt8(3))
            w.writeVarint(channel)
            w.writeString(content)
        }
    }

    static func decodeDelivery(_ r: inout ByteReader) throws(ByteReader.Overrun) -> Delivery {
        let id = DeliveryID(try r.readVarint())
        let requestedAt = try r.readTime()
        let destination: Destination
        switch try r.read(UInt8.self) {
        case 0:
            let broadcaster = KickUserID(try r.readVarint())
            let content = try r.readString()
            let replyTo = try r.readString()
            destination = .kickChat(
                broadcaster: broadcaster, content: content, replyTo: replyTo.isEmpty ? nil : replyTo)
        case 1:
            let broadcaster = KickUserID(try r.readVarint())
            let count = try r.readVarint()
            guard count <= UInt64(r.remaining) else { throw ByteReader.Overrun() }
            var events: [String] = []
            for _ in 0..<count { events.append(try r.readString()) }
            destination = .kickSubscriptions(broadcaster: broadcaster, events: events)
        case 2:
            let user = UserID(try r.readVarint())
            let role = RoleID(try r.readVarint())
            let grant = try r.read(UInt8.self)
            guard grant <= 1 else { throw ByteReader.Overrun() }
            destination = .discordRole(user: user, role: role, grant: grant == 1)
        case 3:
            let channel = try r.readVarint()
            destination = .discordMessage(channel: channel, content: try r.readString())
        default:
            throw ByteReader.Overrun()
        }
        return Delivery(id: id, destination: destination, requestedAt: requestedAt)
    }

    static func encodeTable(_ table: RaffleTable, into w: inout ByteWriter) {
        w.writeVarint(UInt64(table.entries.count))
        for e in table.entries {
            w.writePerson(e.person)
            for i in 0..<4 { w.writeInt(e.tickets[i]) }
            w.writeBool(e.excluded)
        }
    }

    static func decodeTable(_ r: inout ByteReader) throws(ByteReader.Overrun) -> RaffleTable {
        let n = try r.readVarint()
        guard n <= UInt64(r.remaining) else { throw ByteReader.Overrun() }
        var entries: [RaffleTable.Entry] = []
        entries.reserveCapacity(Int(n))
        for _ in 0..<n {
            let person = try r.readPerson()
            var tickets = TicketCounts()
            for i in 0..<4 { tickets[i] = try r.readInt() }
            entries.append(RaffleTable.Entry(person: person, tickets: tickets, excluded: try r.readBool()))
        }
        return RaffleTable(entries: entries)
    }

    static func encodeItem(_ item: ShopItem, into w: inout ByteWriter) {
        w.writeVarint(UInt64(item.id.rawValue))
        w.writeString(item.name)
        w.writeInt(item.price)
        w.writeInt(item.stock)
        w.writeInt(item.perPersonLimit)
        w.writeInt(item.limitWindowSeconds)
        w.writeString(item.requirementPrompt)
        switch item.kind {
        case .standard: w.write(UInt8(0))
        case .raffleTickets(let n):
            w.write(UInt8(1))
            w.writeInt(n)
        }
        w.writeBool(item.active)
    }

    static func decodeItem(_ r: inout ByteReader) throws(ByteReader.Overrun) -> ShopItem {
        let id = ItemID(UInt32(truncatingIfNeeded: try r.readVarint()))
        let name = try r.readString()
        let price = try r.readInt()
        let stock = try r.readInt()
        let limit = try r.readInt()
        let window = try r.readInt()
        let prompt = try r.readString()
        let kind: ShopItemKind
        switch try r.read(UInt8.self) {
        case 0: kind = .standard
        case 1: kind = .raffleTickets(try r.readInt())
        default: throw ByteReader.Overrun()
        }
        let active = try r.readBool()
        return ShopItem(
            id: id, name: name, price: price, stock: stock, perPersonLimit: limit, limitWindowSeconds: window,
            requirementPrompt: prompt, kind: kind, active: active)
    }

    /// The fields of type `tag` at `version`; nil for an unknown type or version.
    static func decodeFields(tag: UInt16, version: UInt8, _ r: inout ByteReader) throws(ByteReader.Overrun)
        -> DomainEvent?
    {
        func setting() throws(ByteReader.Overrun) -> SettingKey {
            SettingKey(rawValue: UInt16(truncatingIfNeeded: try r.readVarint()))
        }
        func period() throws(ByteReader.Overrun) -> PeriodID {
            PeriodID(UInt32(truncatingIfNeeded: try r.readVarint()))
        }
        func item() throws(ByteReader.Overrun) -> ItemID { ItemID(UInt32(truncatingIfNeeded: try r.readVarint())) }
        func user() throws(ByteReader.Overrun) -> UserID { UserID(try r.readSnowflake()) }
        func role() throws(ByteReader.Overrun) -> RoleID { RoleID(try r.readSnowflake()) }
        func chatter() throws(ByteReader.Overrun) -> KickUserID { KickUserID(try r.readVarint()) }
        func source() throws(ByteReader.Overrun) -> TicketSource {
            guard let s = TicketSource(rawValue: try r.read(UInt8.self)) else { throw ByteReader.Overrun() }
            return s
        }
        switch (tag, version) {
        case (1, 1): return .settingChanged(try setting(), try r.readInt())
        case (2, 1): return .settingCleared(try setting())
        case (3, 1): return .streamWentLive
        case (4, 1): return .streamWentOffline
        case (5, 1):
            guard let mode = TrackingMode(rawValue: try r.read(UInt8.self)) else { throw ByteReader.Overrun() }
            return .trackingOverridden(mode)
        case (6, 1): return .chatterSeen(try chatter(), username: try r.readString())
        case (7, 1):
            let minutes = try r.readInt()
            let n = try r.readVarint()
            guard n <= UInt64(r.remaining) else { throw ByteReader.Overrun() }
            var credited: [PersonID] = []
            credited.reserveCapacity(Int(n))
            for _ in 0..<n { credited.append(try r.readPerson()) }
            return .watchTimeAccrued(credited: credited, minutes: minutes)
        case (8, 1):
            let t = RoleThreshold(
                role: try role(), name: try r.readString(), minutes: try r.readInt(),
                position: Int32(truncatingIfNeeded: try r.readInt()), enabled: try r.readBool())
            return .roleThresholdSet(t)
        case (9, 1): return .roleThresholdRemoved(try role())
        case (10, 1): return .roleGrantRequested(try user(), try role())
        case (11, 1): return .roleRevokeRequested(try user(), try role())
        case (12, 1):
            let u = try user()
            let ro = try role()
            let granted = try r.readBool()
            guard let outcome = DeliveryOutcome(rawValue: try r.read(UInt8.self)) else { throw ByteReader.Overrun() }
            return .roleDeliveryRecorded(u, ro, granted: granted, outcome: outcome, detail: try r.readString())
        case (13, 1):
            return .pointsEarned(
                try r.readPerson(), points: try r.readInt(), minutesConverted: try r.readInt(),
                subscriber: try r.readBool())
        case (14, 1): return .pointsSpent(try r.readPerson(), amount: try r.readInt(), reason: try r.readString())
        case (15, 1):
            return .pointsRefunded(try r.readPerson(), amount: try r.readInt(), order: OrderID(try r.readVarint()))
        case (16, 1):
            // Version 1 had no `by`: upcast with the unknown user.
            return .pointsAdjusted(try r.readPerson(), delta: try r.readInt(), reason: try r.readString(), by: .unknown)
        case (16, 2):
            return .pointsAdjusted(
                try r.readPerson(), delta: try r.readInt(), reason: try r.readString(), by: try user())
        case (17, 1): return .subscriptionRecorded(try chatter(), expiresAt: try r.readTime(), createdAt: nil)
        case (17, 2):
            return .subscriptionRecorded(
                try chatter(), expiresAt: try r.readTime(), createdAt: try r.readOptionalTime())
        case (18, 1): return .shopItemCreated(try decodeItem(&r))
        case (19, 1): return .shopItemEdited(try decodeItem(&r))
        case (20, 1): return .shopItemRestocked(try item(), stock: try r.readInt())
        case (21, 1): return .shopItemDeactivated(try item())
        case (22, 1):
            let id = OrderID(try r.readVarint())
            let it = try item()
            let person = try r.readPerson()
            let price = try r.readInt()
            let tickets = try r.readInt()
            let p = try period()
            let requirement = try r.readString()
            guard let status = OrderStatus(rawValue: try r.read(UInt8.self)) else { throw ByteReader.Overrun() }
            return .itemPurchased(
                Order(
                    id: id, item: it, person: person, price: price, tickets: tickets, period: p.rawValue == 0 ? nil : p,
                    requirement: requirement, status: status))
        case (23, 1): return .orderFulfilled(OrderID(try r.readVarint()), by: try user())
        case (24, 1):
            // Version 1 named no recipient: the refund went to the order's person.
            return .orderCancelled(
                OrderID(try r.readVarint()), refund: try r.readInt(), by: try user(),
                reason: try r.readString(), refundTo: nil)
        case (24, 2):
            return .orderCancelled(
                OrderID(try r.readVarint()), refund: try r.readInt(), by: try user(),
                reason: try r.readString(), refundTo: try r.readOptionalPerson())
        case (25, 1): return .purchaseLimitReset(try item(), person: try r.readOptionalPerson())
        case (26, 1):
            // Version 1 committed to no beacon round: upcast with round 0.
            return .rafflePeriodOpened(
                RafflePeriod(
                    id: try period(), startsAt: try r.readTime(), endsAt: try r.readTime(),
                    seedCommitment: try r.readData()))
        case (26, 2):
            return .rafflePeriodOpened(
                RafflePeriod(
                    id: try period(), startsAt: try r.readTime(), endsAt: try r.readTime(),
                    seedCommitment: try r.readData(), beaconRound: try r.readVarint()))
        case (27, 1):
            // Version 1 froze no table: upcast with none (the period cannot be drawn under version 2 rules).
            return .rafflePeriodClosed(try period(), table: nil, beaconRound: 0)
        case (27, 2):
            let p = try period()
            let round = try r.readVarint()
            let table = try r.readBool() ? try decodeTable(&r) : nil
            return .rafflePeriodClosed(p, table: table, beaconRound: round)
        case (28, 1):
            return .ticketsGranted(
                try r.readPerson(), amount: try r.readInt(), source: try source(), reason: try r.readString())
        case (29, 1):
            return .ticketsRemoved(
                try r.readPerson(), amount: try r.readInt(), source: try source(), reason: try r.readString())
        case (30, 1): return .raffleExclusionChanged(try r.readPerson(), excluded: try r.readBool())
        case (31, 1), (31, 2):
            var draw = RaffleDraw(
                period: try period(), number: UInt32(truncatingIfNeeded: try r.readVarint()), seed: try r.readData(),
                totalTickets: try r.readInt(), winningTicket: try r.readInt(), winner: try r.readPerson(),
                winnerTickets: try r.readInt(), participants: UInt32(truncatingIfNeeded: try r.readVarint()),
                participantsDigest: try r.readData())
            // Version 1 draws used no beacon and replaced nothing: upcast with the empty values.
            if version == 2 {
                draw.beaconRound = try r.readVarint()
                draw.beacon = try r.readData()
                draw.replaces = UInt32(truncatingIfNeeded: try r.readVarint())
                draw.reason = try r.readString()
            }
            return .raffleWinnerDrawn(draw)
        case (32, 1): return .raffleSeedRevealed(try period(), seed: try r.readData())
        case (33, 1):
            return .giftedSubsRecorded(gifter: try chatter(), count: try r.readInt(), giftees: [], createdAt: nil)
        case (33, 2):
            let gifter = try chatter()
            let count = try r.readInt()
            let n = try r.readVarint()
            guard n <= UInt64(r.remaining) else { throw ByteReader.Overrun() }
            var giftees: [KickUserID] = []
            for _ in 0..<n { giftees.append(try chatter()) }
            return .giftedSubsRecorded(
                gifter: gifter, count: count, giftees: giftees, createdAt: try r.readOptionalTime())
        case (41, 1): return .streamStatusReported(live: try r.readBool(), at: try r.readTime())
        case (34, 1): return .linkRequested(try user(), expiresAt: try r.readTime())
        case (35, 1): return .accountLinked(try user(), try chatter(), kickUsername: try r.readString())
        case (36, 1): return .linkRejected(try user(), try chatter(), reason: try r.readString())
        case (37, 1): return .accountUnlinked(try user(), by: try user())
        case (38, 1): return .platformUsernameChanged(try chatter(), from: try r.readString(), to: try r.readString())
        case (39, 1):
            return .chatterEarningsMerged(
                try chatter(), into: try user(), minutes: try r.readInt(), points: try r.readInt(),
                tickets: try r.readInt())
        case (64, 1):
            return .kickChannelConnected(KickChannel(broadcaster: try chatter(), slug: try r.readString()))
        case (65, 1): return .chatCommandUsed(try chatter(), command: try r.readString())
        case (66, 1): return .deliveryRequested(try EventCodec.decodeDelivery(&r))
        case (67, 1):
            let id = DeliveryID(try r.readVarint())
            guard let outcome = DeliveryOutcome(rawValue: try r.read(UInt8.self)) else { throw ByteReader.Overrun() }
            return .deliveryRecorded(id, outcome: outcome, detail: try r.readString())
        case (68, 1):
            return .kickAuthorizationStarted(
                KickAuthorization(
                    state: try r.readString(), user: try user(), verifier: try r.readString(),
                    expiresAt: try r.readTime()))
        case (69, 1): return .kickAuthorizationFinished(state: try r.readString())
        case (70, 1): return .giftedSubsUnattributed(count: try r.readInt(), reason: try r.readString())
        case (40, 1):
            let p = try period()
            return .raffleBeaconRecorded(p, RaffleBeacon(round: try r.readVarint(), value: try r.readData()))
        case (80...85, 1): return try decodeLegacyFields(tag: tag, &r)
        default: return nil
        }
    }
}
