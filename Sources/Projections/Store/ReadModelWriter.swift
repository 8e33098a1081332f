import Domain
import EventLog
import Foundation
import GRDB
import GRDBSQLite

/// SQLite copies a value bound with this destructor before the bind returns.
private let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// Turns changed guild state into rows, inside the caller's transaction.
struct ReadModelWriter {
    let db: Database
    let catalog: ProjectionCatalog
    let only: Set<String>?
    /// The people table is empty (a first write from a snapshot, a rebuild): rows are inserted in
    /// key order with a plain `INSERT`, nothing to update or delete.
    var bulk = false

    private func wants(_ p: ProjectionCatalog.Projection) -> Bool { only?.contains(p.name) ?? true }

    func write(_ model: ProjectionModel) throws {
        if wants(catalog.people) { try writePeople(model) }
        for guild in model.dirtyGuilds.sorted() {
            guard let state = model.guilds[guild] else { continue }
            let g = Int64(bitPattern: guild.rawValue)
            if wants(catalog.guilds) { try writeGuild(state, g) }
            if wants(catalog.raffle) { try writeRaffle(state, g) }
            if wants(catalog.roles) { try writeRoles(state, g) }
            if wants(catalog.links) { try writeLinks(state, g) }
            if wants(catalog.shop) { try writeShop(state, g) }
        }
    }

    private func writePeople(_ model: ProjectionModel) throws {
        if bulk { return try insertPeople(model) }
        let upsert = try db.cachedStatement(
            sql: """
                INSERT INTO people VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (guild, person) DO UPDATE SET
                    discord_user = excluded.discord_user, kick_user = excluded.kick_user, name = excluded.name,
                    minutes = excluded.minutes, points = excluded.points, points_earned = excluded.points_earned,
                    score = excluded.score, tickets_watchtime = excluded.tickets_watchtime,
                    tickets_gifted_sub = excluded.tickets_gifted_sub, tickets_shop = excluded.tickets_shop,
                    tickets_admin = excluded.tickets_admin, tickets = excluded.tickets, excluded = excluded.excluded
                """)
        let delete = try db.cachedStatement(sql: "DELETE FROM people WHERE guild = ? AND person = ?")
        let roles = wants(catalog.roles)
        for (guild, people) in model.dirtyPeople {
            guard let state = model.guilds[guild] else { continue }
            let g = Int64(bitPattern: guild.rawValue)
            for id in people {
                // Only linked users have targets; unlinking marks the whole guild for rewriting.
                if roles, case .discord(let user) = id, state.links[user] != nil, !model.dirtyGuilds.contains(guild) {
                    try writeRoleTargets(of: user, in: state, g)
                }
                guard let p = state.people[id] else {
                    try delete.execute(arguments: [g, id.description])
                    continue
                }
                try upsert.execute(arguments: row(id, p, in: state, g))
            }
        }
    }

    /// Inserts every person of `model`'s changed guilds into an empty table, in the table's key
    /// order (guild, then person as text: `<` is byte order for the ASCII of ids and most names,
    /// and a name outside it only costs a row not at the end), so rows land at the B-tree's edge.
    /// Values are bound straight to the prepared statement (SQLite's C API), not through an array
    /// of boxed values per row: a first write has hundreds of thousands of rows. Role targets need
    /// nothing here: every guild of a first write is changed, and its targets are written whole.
    private func insertPeople(_ model: ProjectionModel) throws {
        let insert = try db.cachedStatement(
            sql: "INSERT INTO people VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        let statement = insert.sqliteStatement
        func bind(_ i: Int32, _ value: Int64?) {
            if let value { sqlite3_bind_int64(statement, i, value) } else { sqlite3_bind_null(statement, i) }
        }
        func bind(_ i: Int32, _ text: String) {
            var text = text
            text.withUTF8 { bytes in
                _ = sqlite3_bind_text(
                    statement, i, bytes.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) },
                    Int32(bytes.count), transient)
            }
        }
        let guilds = model.dirtyPeople.keys.sorted { Int64(bitPattern: $0.rawValue) < Int64(bitPattern: $1.rawValue) }
        for guild in guilds {
            guard let state = model.guilds[guild], let people = model.dirtyPeople[guild] else { continue }
            let g = Int64(bitPattern: guild.rawValue)
            for (key, id) in people.map({ ($0.description, $0) }).sorted(by: { $0.0 < $1.0 }) {
                guard let p = state.people[id] else { continue }
                let (discord, kick, name) = ReadModelWriter.identity(id, in: state)
                sqlite3_reset(statement)
                bind(1, g)
                bind(2, key)
                bind(3, discord)
                bind(4, kick)
                bind(5, name)
                for (i, value) in counters(p).enumerated() { bind(Int32(6 + i), value) }
                let code = sqlite3_step(statement)
                guard code == SQLITE_DONE else {
                    throw DatabaseError(
                        resultCode: ResultCode(rawValue: code),
                        message: String(cString: sqlite3_errmsg(db.sqliteConnection)),
                        sql: insert.sql)
                }
            }
        }
        sqlite3_reset(statement)
        sqlite3_clear_bindings(statement)
    }

    /// The `people` row of `p`: guild, person, identity, then ``counters(_:)``.
    private func row(_ id: PersonID, _ p: PersonState, in state: GuildState, _ g: Int64) -> StatementArguments {
        let (discord, kick, name) = ReadModelWriter.identity(id, in: state)
        let head: StatementArguments = [g, id.description, discord, kick, name]
        return head + StatementArguments(counters(p))
    }

    /// Columns 6–15 of a `people` row, in column order: the one place that order is written, for
    /// the upsert (``row(_:_:in:_:)``) and the bulk insert alike.
    private func counters(_ p: PersonState) -> [Int64] {
        [
            p.minutes, p.points, p.pointsEarned, catalog.pointsScore(p), p.tickets[0], p.tickets[1], p.tickets[2],
            p.tickets[3], p.totalTickets, p.excluded ? 1 : 0,
        ]
    }

    /// The Discord user, Kick user and display name of a person.
    static func identity(_ id: PersonID, in state: GuildState) -> (Int64?, Int64?, String) {
        switch id {
        case .discord(let u):
            let chatter = state.links[u]
            // An imported link waits for its Kick id: its name is all there is.
            let name = chatter.flatMap { state.chatters[$0]?.username } ?? state.legacy.links[u] ?? ""
            return (Int64(bitPattern: u.rawValue), chatter.map { Int64(bitPattern: $0.rawValue) }, name)
        case .kick(let k):
            return (nil, Int64(bitPattern: k.rawValue), state.chatters[k]?.username ?? "")
        case .kickName(let name):
            return (nil, nil, name)
        }
    }

    /// Runs `sql` through the connection's statement cache (a first write runs each of these once
    /// per guild, thousands of times).
    private func run(sql: String, arguments: StatementArguments) throws {
        try db.cachedStatement(sql: sql).execute(arguments: arguments)
    }

    private func replace(_ table: String, _ g: Int64) throws {
        try run(sql: "DELETE FROM \(table) WHERE guild = ?", arguments: [g])
    }

    private func writeGuild(_ s: GuildState, _ g: Int64) throws {
        let settings = Dictionary(uniqueKeysWithValues: s.settings.overrides.map { ($0.key.description, $0.value) })
        let json = String(decoding: (try? JSONEncoder().encode(settings)) ?? Data("{}".utf8), as: UTF8.self)
        let tracking = ["automatic", "forced_on", "forced_off"][Int(s.tracking.rawValue)]
        try run(
            sql: "INSERT OR REPLACE INTO guilds VALUES (?, ?, ?, ?)",
            arguments: [g, s.live, tracking, json])
    }

    private func writeRaffle(_ s: GuildState, _ g: Int64) throws {
        try replace("raffle_periods", g)
        try replace("raffle_draws", g)
        for (id, p) in s.raffle.periods {
            try run(
                sql: "INSERT INTO raffle_periods VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                arguments: [
                    g, Int64(id.rawValue), p.startsAt.rawValue, p.endsAt.rawValue, Data(p.seedCommitment),
                    s.raffle.current?.id == id, s.raffle.revealedSeeds[id].map { Data($0) },
                    Int64(bitPattern: p.beaconRound), s.raffle.beacons[id].map { Data($0.value) },
                    s.raffle.tables[id].map { Data(RaffleDrawing.digest(of: $0)) },
                ])
        }
        for (_, draws) in s.raffle.history {
            for d in draws {
                try run(
                    sql: "INSERT INTO raffle_draws VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    arguments: [
                        g, Int64(d.period.rawValue), Int64(d.number), d.winner.description, d.winningTicket,
                        d.totalTickets,
                        d.winnerTickets, Int64(d.participants), Data(d.participantsDigest), Data(d.seed),
                        Int64(bitPattern: d.beaconRound), Data(d.beacon), d.replaces == 0 ? nil : Int64(d.replaces),
                        d.reason,
                    ])
            }
        }
    }

    private func writeRoles(_ s: GuildState, _ g: Int64) throws {
        try replace("role_thresholds", g)
        try replace("role_targets", g)
        try replace("role_outbox", g)
        for t in s.thresholds.values {
            try run(
                sql: "INSERT INTO role_thresholds VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [g, Int64(bitPattern: t.role.rawValue), t.name, t.minutes, Int64(t.position), t.enabled])
        }
        for user in s.links.keys { try insertRoleTargets(of: user, in: s, g) }
        for (change, at) in s.outbox {
            try run(
                sql: "INSERT INTO role_outbox VALUES (?, ?, ?, ?, ?)",
                arguments: [
                    g, Int64(bitPattern: change.user.rawValue), Int64(bitPattern: change.role.rawValue), change.grant,
                    at.rawValue,
                ])
        }
    }

    /// Rewrites the roles one user should hold (their minutes changed).
    private func writeRoleTargets(of user: UserID, in s: GuildState, _ g: Int64) throws {
        try run(
            sql: "DELETE FROM role_targets WHERE guild = ? AND user = ?",
            arguments: [g, Int64(bitPattern: user.rawValue)])
        if s.links[user] != nil { try insertRoleTargets(of: user, in: s, g) }
    }

    /// The roles a linked person should hold: every enabled threshold their minutes reach, and the
    /// guild's linked role.
    private func insertRoleTargets(of user: UserID, in s: GuildState, _ g: Int64) throws {
        let minutes = s.person(.discord(user)).minutes
        var roles = s.thresholds.values.filter { $0.enabled && minutes >= $0.minutes }.map {
            Int64(bitPattern: $0.role.rawValue)
        }
        let linkedRole = s.settings[.linkedRoleID]
        if linkedRole != 0 { roles.append(linkedRole) }
        for role in Set(roles) {
            try run(
                sql: "INSERT INTO role_targets VALUES (?, ?, ?)",
                arguments: [g, Int64(bitPattern: user.rawValue), role])
        }
    }

    private func writeLinks(_ s: GuildState, _ g: Int64) throws {
        try replace("links", g)
        for (user, chatter) in s.links {
            try run(
                sql: "INSERT INTO links VALUES (?, ?, ?, ?)",
                arguments: [
                    g, Int64(bitPattern: user.rawValue), Int64(bitPattern: chatter.rawValue),
                    s.chatters[chatter]?.username ?? "",
                ])
        }
    }

    private func writeShop(_ s: GuildState, _ g: Int64) throws {
        try replace("shop_items", g)
        try replace("shop_orders", g)
        for item in s.items.values {
            var tickets: Int64 = 0
            if case .raffleTickets(let n) = item.kind { tickets = n }
            try run(
                sql: "INSERT INTO shop_items VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                arguments: [
                    g, Int64(item.id.rawValue), item.name, item.price, item.stock, item.perPersonLimit,
                    item.limitWindowSeconds,
                    item.requirementPrompt, tickets, item.active,
                ])
        }
        for order in s.orders.values {
            try run(
                sql: "INSERT INTO shop_orders VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                arguments: [
                    g, Int64(order.id.rawValue), Int64(order.item.rawValue), order.person.description, order.price,
                    order.tickets,
                    order.requirement, order.status.description,
                ])
        }
    }
}
