public import Domain
public import EventLog
import Foundation

/// Turns one guild's old rows into the import events of ``Domain/LegacyImport`` and the report of
/// what they hold: who each person is, which rows disagree with themselves, which settings are
/// unknown, which roles need an id, whether each old draw reproduces. Pure: no I/O.
///
/// People follow `legacy-schema.md`: a Kick name linked in the guild (`links`, platform `kick`,
/// compared lower-case) is the Discord user; any other Kick name is the provisional person
/// `kick_name:<name>`. `user_points.discord_id` is never trusted (it is a cache).
public struct LegacyPlanner: Sendable {
    public var guild: GuildID
    public var data: LegacyGuildData
    public var globalSettings: [LegacySetting]
    public var globalRoles: [LegacyRole]
    /// The commitment the open period is imported under: SHA-256 of the seed Tally derives for the
    /// period it opens (the old seed was stored in the clear, so it cannot stay secret).
    public var commitment: [UInt8]
    /// The time of the import: an open period that should have ended already is kept open an hour.
    public var now: Timestamp
    public var merge: Bool

    public init(
        guild: GuildID, data: LegacyGuildData, globalSettings: [LegacySetting] = [], globalRoles: [LegacyRole] = [],
        commitment: [UInt8], now: Timestamp, merge: Bool = false
    ) {
        self.guild = guild
        self.data = data
        self.globalSettings = globalSettings
        self.globalRoles = globalRoles
        self.commitment = commitment
        self.now = now
        self.merge = merge
    }

    /// Old setting names Tally spells differently.
    static let settingAliases: [String: SettingKey] = [
        "points_per_five_minutes": .pointsPer5Min, "points_per_5_min": .pointsPer5Min,
        "sub_points_per_5min": .subscriberPointsPer5Min, "subscriber_points_per_5_min": .subscriberPointsPer5Min,
        "tickets_per_hour": .watchtimeTicketsPerHour, "watchtime_tickets_per_hour": .watchtimeTicketsPerHour,
        "tickets_per_gifted_sub": .giftedSubTickets, "gifted_sub_tickets": .giftedSubTickets,
        "auto_renew": .raffleAutoRenew, "raffle_auto_renew": .raffleAutoRenew,
        "remove_roles": .roleRemovalEnabled, "linked_role": .linkedRoleID, "linked_role_id": .linkedRoleID,
    ]

    /// The old ticket columns, as Tally's sources.
    static let ticketSources: [(String, TicketSource)] = [
        ("watchtime", .watchtime), ("gifted_sub", .giftedSub), ("shuffle_wager", .admin), ("bonus", .shop),
    ]

    struct Accrual {
        var minutes: Int64 = 0
        var converted: Int64 = 0
        var points: Int64 = 0
        var earned: Int64 = 0
        var spent: Int64 = 0
        var periodMinutes: Int64 = 0
        var kickName = ""
        var sources: [LegacyRow] = []
    }

    /// The guild's import and its report.
    ///
    /// - Throws: ``LegacyImportError`` with code `invalidRow` naming the table and row of a row that
    ///   breaks a rule (a negative balance or watch time, a Kick name linked to two Discord users).
    public func plan() throws -> (LegacyImport, LegacyGuildReport) {
        var report = LegacyGuildReport(guild: String(guild.rawValue))
        var events: [DomainEvent] = []
        func invalid(_ row: String, _ message: String) -> LegacyImportError {
            LegacyImportError(.invalidRow, "\(row): \(message)", guild: guild.rawValue)
        }

        // Links: who each Kick name is in this guild.
        var linkByName: [String: (user: UInt64, row: String)] = [:]
        var nameByUser: [UInt64: String] = [:]
        for link in data.links {
            let row = "links#\(link.rowKey)"
            guard link.platform.lowercased() == "kick" else {
                report.skipped.append(.init(row: row, reason: "platform \(link.platform) is not Kick"))
                continue
            }
            guard link.discordID > 0 else { throw invalid(row, "Discord id \(link.discordID) is not a snowflake") }
            let name = link.kickName.lowercased()
            if let other = linkByName[name], other.user != UInt64(link.discordID) {
                throw invalid(
                    row,
                    "Kick name \(name) belongs to two Discord users, \(other.user) (\(other.row)) and \(link.discordID)"
                )
            }
            linkByName[name] = (UInt64(link.discordID), row)
            nameByUser[UInt64(link.discordID)] = name
        }
        func resolve(_ name: String) -> PersonID {
            let lower = name.lowercased()
            if let link = linkByName[lower] { return .discord(UserID(link.user)) }
            return .kickName(lower)
        }

        // Settings: the guild's rows over the global ones; bot_settings over point_settings.
        var effective: [String: LegacySetting] = [:]
        for s in globalSettings { effective[s.key] = s }
        for s in data.settings where s.table == "point_settings" { effective[s.key] = s }
        for s in data.settings where s.table == "bot_settings" { effective[s.key] = s }
        var settingValues: [SettingKey: Int64] = [:]
        for key in effective.keys.sorted() {
            let s = effective[key]!
            let row = "\(s.table)#\(s.rowKey)"
            guard let setting = SettingKey(name: key.lowercased()) ?? LegacyPlanner.settingAliases[key.lowercased()]
            else {
                report.unknownSettings.append("\(key)=\(s.value ?? "NULL") (\(row))")
                continue
            }
            guard let text = s.value, let value = LegacyPlanner.number(text) else {
                report.skipped.append(
                    .init(row: row, reason: "\(key) = \(s.value ?? "NULL") is not a number or boolean"))
                continue
            }
            guard setting.validRange.contains(value) else {
                report.skipped.append(.init(row: row, reason: "\(key) = \(value) is outside \(setting.validRange)"))
                continue
            }
            settingValues[setting] = value
            events.append(.legacyRecordImported(LegacyRow(s.table, s.rowKey), .settingChanged(setting, value)))
            report.settings += 1
        }

        // The active period and its ticket rows.
        let active = data.periods.filter { $0.status == "active" }.sorted { $0.id < $1.id }
        for extra in active.dropFirst() {
            report.skipped.append(.init(row: "raffle_periods#\(extra.id)", reason: "a second active period"))
        }
        let open = active.first
        let openTickets = open.map { p in data.tickets.filter { $0.period == p.id } } ?? []
        let rate = settingValues[.watchtimeTicketsPerHour] ?? 10

        // People: watch time, balances and links.
        var people: [PersonID: Accrual] = [:]
        for w in data.watchtime {
            let row = LegacyRow("watchtime", "\(w.username)/\(guild.rawValue)")
            guard w.minutes >= 0 else { throw invalid(row.description, "negative watch time (\(w.minutes) minutes)") }
            let p = resolve(w.username)
            people[p, default: Accrual()].minutes += w.minutes
            people[p, default: Accrual()].sources.append(row)
        }
        for (name, ledger) in data.ledger {
            people[resolve(name), default: Accrual()].converted += ledger.first
        }
        for u in data.points {
            let row = LegacyRow("user_points", String(u.id))
            guard u.points >= 0 else { throw invalid(row.description, "negative balance (\(u.points) points)") }
            guard u.totalEarned >= 0, u.totalSpent >= 0 else {
                throw invalid(row.description, "negative totals (earned \(u.totalEarned), spent \(u.totalSpent))")
            }
            let p = resolve(u.kickUsername)
            people[p, default: Accrual()].points += u.points
            people[p, default: Accrual()].earned += u.totalEarned
            people[p, default: Accrual()].spent += u.totalSpent
            people[p, default: Accrual()].sources.append(row)
            if u.points != u.totalEarned - u.totalSpent {
                report.inconsistencies.append(
                    .init(
                        row: row.description,
                        detail:
                            "points \(u.points) ≠ total_earned \(u.totalEarned) − total_spent \(u.totalSpent) = \(u.totalEarned - u.totalSpent)"
                    ))
            }
            let ledger = data.ledger[u.kickUsername.lowercased()] ?? LegacyLedger(rows: 0, first: 0, second: 0)
            if ledger.second != u.totalEarned {
                report.inconsistencies.append(
                    .init(
                        row: row.description,
                        detail:
                            "total_earned \(u.totalEarned) ≠ \(ledger.second) points in \(ledger.rows) points_watchtime_converted rows"
                    ))
            }
            if let cached = u.discordID, case .kickName = p {
                report.notes.append(
                    "\(row): discord_id \(cached) is cached but \(u.kickUsername) is not linked in this guild; kept as kick_name:\(u.kickUsername.lowercased())"
                )
            }
        }
        for (name, link) in linkByName {
            let p = PersonID.discord(UserID(link.user))
            people[p, default: Accrual()].kickName = name
            let key = String(link.row.dropFirst("links#".count))
            people[p, default: Accrual()].sources.append(LegacyRow("links", key))
        }
        for t in openTickets {
            let p = PersonID.discord(UserID(UInt64(t.discordID)))
            people[p, default: Accrual()].periodMinutes = rate > 0 ? t.watchtime / rate * 60 : 0
        }
        for (p, a) in people.sorted(by: { $0.key < $1.key }) {
            guard !a.sources.isEmpty else { continue }
            let unconverted = max(0, a.minutes - a.converted)
            events.append(
                .legacyPersonImported(
                    LegacyPerson(
                        person: p, kickName: a.kickName, minutes: a.minutes, unconvertedMinutes: unconverted,
                        points: a.points, pointsEarned: a.earned, pointsSpent: a.spent, periodMinutes: a.periodMinutes,
                        sources: a.sources.sorted())))
        }

        // Watch-time roles, by name.
        let roles = data.roles.isEmpty ? globalRoles : data.roles
        if data.roles.isEmpty, !globalRoles.isEmpty {
            report.notes.append("no watchtime_roles rows of its own: the global rows (no guild) apply")
        }
        var roleNames: Set<String> = []
        for (i, r) in roles.sorted(by: { ($0.displayOrder, $0.id) < ($1.displayOrder, $1.id) }).enumerated() {
            let row = "watchtime_roles#\(r.id)"
            guard roleNames.insert(r.name).inserted else {
                report.skipped.append(.init(row: row, reason: "a second threshold named \(r.name)"))
                continue
            }
            guard r.minutes >= 0 else { throw invalid(row, "negative minutes_required (\(r.minutes))") }
            events.append(
                .legacyRoleThresholdImported(
                    LegacyRoleThreshold(
                        name: r.name, minutes: r.minutes, position: Int32(clamping: i + 1), enabled: r.enabled,
                        source: LegacyRow("watchtime_roles", String(r.id)))))
            let eligible = linkByName.values.filter { people[.discord(UserID($0.user))]?.minutes ?? 0 >= r.minutes }
            report.roles.append(
                .init(
                    name: r.name, minutes: r.minutes, enabled: r.enabled, eligible: r.enabled ? eligible.count : 0,
                    command: "/roles set role:@\(r.name) minutes:\(r.minutes)"))
        }

        // Shop items, numbered 1… in the old id order.
        var itemIDs: [Int64: ItemID] = [:]
        var itemKinds: [Int64: ShopItemKind] = [:]
        for (i, item) in data.items.sorted(by: { $0.id < $1.id }).enumerated() {
            let id = ItemID(UInt32(clamping: i + 1))
            let kind: ShopItemKind =
                if let n = item.raffleTicketAmount, n > 0 { .raffleTickets(n) } else { .standard }
            itemIDs[item.id] = id
            itemKinds[item.id] = kind
            events.append(
                .legacyRecordImported(
                    LegacyRow("point_shop_items", String(item.id)),
                    .shopItemCreated(
                        ShopItem(
                            id: id, name: item.name, price: item.price, stock: item.stock,
                            perPersonLimit: item.perUserLimit, limitWindowSeconds: item.limitWindowSeconds,
                            requirementPrompt: item.requirementTitle ?? "", kind: kind, active: item.active))))
            report.items += 1
        }

        // Ended periods and their draws, checked with the old algorithm.
        let exclusions = data.exclusions
        for period in data.periods.filter({ $0.status != "active" }).sorted(by: { $0.id < $1.id }) {
            let draws = data.draws.filter { $0.period == period.id }.sorted { $0.id < $1.id }
            var checked: [LegacyDraw] = []
            for d in draws {
                let result = LegacyDrawCheck.verify(
                    draw: d, period: period, tickets: data.tickets.filter { $0.period == period.id },
                    exclusions: exclusions)
                checked.append(
                    LegacyDraw(
                        source: LegacyRow("raffle_draws", String(d.id)), winner: UserID(UInt64(d.winnerDiscordID)),
                        winnerKickName: d.winnerKickName, winningTicket: d.winningTicket, totalTickets: d.totalTickets,
                        participants: d.participants, serverSeed: d.serverSeed ?? period.serverSeed ?? "",
                        clientSeed: d.clientSeed ?? "", nonce: d.nonce ?? "",
                        drawnAt: Timestamp(milliseconds: d.drawnAt ?? period.endsAt), verification: result))
                report.draws.append(
                    .init(
                        period: period.number ?? period.id, draw: "raffle_draws#\(d.id)",
                        winner: "discord:\(d.winnerDiscordID) (\(d.winnerKickName))", result: result))
            }
            let giftRows = data.gifts.filter { $0.period == period.id }.count
            let giftLog = data.tickets.filter { $0.period == period.id && $0.giftedSub > 0 }.count
            if giftRows == 0, giftLog > 0 {
                report.notes.append(
                    "raffle_periods#\(period.id): \(giftLog) ticket rows hold gifted-sub tickets but no raffle_gifted_subs rows remain (deleted when the next period opened)"
                )
            }
            events.append(
                .legacyPeriodImported(
                    LegacyPeriod(
                        source: LegacyRow("raffle_periods", String(period.id)), number: period.number ?? period.id,
                        startsAt: Timestamp(milliseconds: period.startsAt),
                        endsAt: Timestamp(milliseconds: period.endsAt),
                        totalTickets: period.totalTickets, seedCommitment: period.commitment ?? "", draws: checked)))
            report.periods += 1
        }

        // The open period: Tally's own commitment, then its tickets by source, then exclusions.
        if let open {
            let row = LegacyRow("raffle_periods", String(open.id))
            var end = open.endsAt
            if end <= now.rawValue {
                end = now.rawValue + 3_600_000
                report.notes.append(
                    "\(row): still active though it ended at \(Timestamp(milliseconds: open.endsAt)); imported open until \(Timestamp(milliseconds: end))"
                )
            }
            guard open.startsAt < end else { throw invalid(row.description, "the period ends before it starts") }
            events.append(
                .legacyRecordImported(
                    row,
                    .rafflePeriodOpened(
                        RafflePeriod(
                            id: PeriodID(0), startsAt: Timestamp(milliseconds: open.startsAt),
                            endsAt: Timestamp(milliseconds: end), seedCommitment: commitment))))
            report.periods += 1
            for t in openTickets {
                let trow = LegacyRow("raffle_tickets", String(t.id))
                let person = PersonID.discord(UserID(UInt64(t.discordID)))
                var counts = [t.watchtime, t.giftedSub, t.shuffleWager, t.bonus]
                guard counts.allSatisfy({ $0 >= 0 }), t.total >= 0 else {
                    throw invalid(trow.description, "negative tickets")
                }
                let sum = counts.reduce(0, +)
                if sum != t.total {
                    report.inconsistencies.append(
                        .init(
                            row: trow.description,
                            detail:
                                "sources add up to \(sum) but total_tickets is \(t.total) (!raffleremove rounding); total kept"
                        ))
                    LegacyPlanner.fit(&counts, to: t.total)
                }
                if let log = data.ticketLog[LegacyPeriodPerson(period: open.id, discordID: t.discordID)],
                    log.first != t.total
                {
                    report.inconsistencies.append(
                        .init(
                            row: trow.description,
                            detail: "total_tickets \(t.total) ≠ \(log.first) in \(log.rows) raffle_ticket_log rows"))
                }
                if nameByUser[UInt64(t.discordID)] == nil {
                    report.notes.append("\(trow): Discord user \(t.discordID) holds tickets but is not linked")
                }
                for (i, (name, source)) in LegacyPlanner.ticketSources.enumerated() where counts[i] > 0 {
                    events.append(
                        .legacyRecordImported(
                            trow,
                            .ticketsGranted(
                                person, amount: counts[i], source: source, reason: "imported \(name) tickets (\(trow))")
                        ))
                    report.tickets += counts[i]
                }
            }
            let unlinkedGifts = data.gifts.filter { $0.period == open.id && $0.gifterDiscordID == nil }
            if !unlinkedGifts.isEmpty {
                report.notes.append(
                    "\(unlinkedGifts.count) raffle_gifted_subs rows by unlinked gifters earned no tickets (\(unlinkedGifts.map { "#\($0.id)" }.joined(separator: ", ")))"
                )
            }
        }
        for e in exclusions {
            let row = LegacyRow("raffle_exclusions", String(e.id))
            let person: PersonID
            if let text = e.discordID, let id = UInt64(text.trimmingCharacters(in: .whitespaces)), id > 0 {
                person = .discord(UserID(id))
            } else if let name = e.kickUsername, !name.isEmpty {
                person = resolve(name)
            } else {
                report.skipped.append(.init(row: row.description, reason: "names nobody"))
                continue
            }
            events.append(.legacyRecordImported(row, .raffleExclusionChanged(person, excluded: true)))
        }

        // Orders, as they stand: their points moved in the old bot already.
        for sale in data.sales.sorted(by: { $0.id < $1.id }) {
            let row = LegacyRow("point_sales", String(sale.id))
            guard let legacyItem = sale.itemID, let item = itemIDs[legacyItem] else {
                report.skipped.append(
                    .init(
                        row: row.description,
                        reason: "item \(sale.itemID.map(String.init) ?? "NULL") is not a shop item of this guild"))
                continue
            }
            let person: PersonID
            if let d = sale.discordID, nameByUser[UInt64(d)] != nil {
                person = .discord(UserID(UInt64(d)))
            } else if let name = sale.kickUsername, !name.isEmpty {
                person = resolve(name)
            } else if let d = sale.discordID, d > 0 {
                person = .discord(UserID(UInt64(d)))
            } else {
                report.skipped.append(.init(row: row.description, reason: "names no buyer"))
                continue
            }
            guard
                let status = ["pending": OrderStatus.pending, "completed": .completed, "cancelled": .cancelled][
                    sale.status.lowercased()]
            else {
                report.skipped.append(.init(row: row.description, reason: "unknown status \(sale.status)"))
                continue
            }
            guard sale.pricePaid >= 0 else { throw invalid(row.description, "negative price_paid (\(sale.pricePaid))") }
            let placed = sale.purchasedAt ?? 0
            if case .raffleTickets = itemKinds[legacyItem] {
                let covered = data.periods.contains { placed >= $0.startsAt && placed < $0.endsAt }
                if !covered {
                    report.inconsistencies.append(
                        .init(
                            row: row.description,
                            detail:
                                "raffle-ticket item bought with no active period: points spent, no tickets given (old bug)"
                        ))
                }
            }
            events.append(
                .legacyOrderImported(
                    LegacyOrder(
                        order: Order(
                            id: OrderID(0), item: item, person: person, price: sale.pricePaid,
                            requirement: sale.requirementInput ?? "", status: status),
                        placedAt: Timestamp(milliseconds: placed), source: row)))
        }
        return (LegacyImport(events: events, merge: merge), report)
    }

    /// `"10"`, `"-1"`, `"true"`/`"false"`, `"on"`/`"off"`, `"yes"`/`"no"` as a number.
    static func number(_ text: String) -> Int64? {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        switch t {
        case "true", "on", "yes": return 1
        case "false", "off", "no": return 0
        default: return Int64(t)
        }
    }

    /// Makes the source columns add up to `total`, as the ticket log does: surplus comes off the
    /// largest columns, a shortfall goes to the last (bonus) column.
    static func fit(_ counts: inout [Int64], to total: Int64) {
        var sum = counts.reduce(0, +)
        while sum > total {
            let i = counts.indices.max { counts[$0] < counts[$1] }!
            let cut = min(counts[i], sum - total)
            counts[i] -= cut
            sum -= cut
        }
        if sum < total { counts[counts.count - 1] += total - sum }
    }
}
