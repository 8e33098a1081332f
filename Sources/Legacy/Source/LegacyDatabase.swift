import Foundation
public import Logging
import PostgresNIO

/// Reads the old bot's tables through postgres-nio: checks the schema first, then reads every table
/// the import needs for the chosen guilds into ``LegacyData``.
public struct LegacyDatabase: Sendable {
    public let dsn: LegacyDSN
    let logger: Logger

    public init(dsn: LegacyDSN, logger: Logger) {
        self.dsn = dsn
        self.logger = logger
    }

    /// Progress of one table: its name, rows read so far, seconds spent on it, and whether it is done.
    public typealias Progress = @Sendable (_ table: String, _ rows: Int, _ seconds: Double, _ done: Bool) -> Void

    /// The columns each table must have (those the import reads).
    static let requiredColumns: [String: [String]] = [
        "links": ["discord_id", "kick_name", "discord_server_id", "linked_at", "platform"],
        "watchtime": ["username", "minutes", "last_active", "discord_server_id"],
        "point_settings": ["key", "value", "discord_server_id"],
        "bot_settings": ["id", "key", "value", "discord_server_id"],
        "watchtime_roles": ["id", "role_name", "minutes_required", "display_order", "enabled", "discord_server_id"],
        "user_points": [
            "id", "kick_username", "discord_id", "points", "total_earned", "total_spent", "discord_server_id",
        ],
        "points_watchtime_converted": ["kick_username", "minutes_converted", "points_awarded", "discord_server_id"],
        "point_shop_items": [
            "id", "name", "price", "stock", "is_active", "per_user_limit", "limit_window_seconds", "discord_server_id",
            "requirement_title", "item_type", "raffle_ticket_amount",
        ],
        "point_sales": [
            "id", "item_id", "kick_username", "discord_id", "price_paid", "quantity", "status", "purchased_at",
            "discord_server_id", "requirement_input",
        ],
        "raffle_periods": [
            "id", "discord_server_id", "start_date", "end_date", "status", "total_tickets", "period_number",
            "server_seed", "server_seed_commitment",
        ],
        "raffle_tickets": [
            "id", "period_id", "discord_server_id", "discord_id", "kick_name", "watchtime_tickets",
            "gifted_sub_tickets", "shuffle_wager_tickets", "bonus_tickets", "total_tickets",
        ],
        "raffle_watchtime_converted": ["period_id", "kick_name", "minutes_converted", "tickets_awarded"],
        "raffle_gifted_subs": [
            "id", "period_id", "gifter_kick_name", "gifter_discord_id", "sub_count", "tickets_awarded",
        ],
        "raffle_ticket_log": ["period_id", "discord_id", "ticket_change"],
        "raffle_draws": [
            "id", "period_id", "discord_server_id", "total_tickets", "total_participants", "winner_discord_id",
            "winner_kick_name", "winning_ticket", "drawn_at", "server_seed", "client_seed", "nonce",
            "server_seed_commitment",
        ],
        "raffle_exclusions": ["id", "discord_server_id", "kick_username", "discord_id", "reason"],
    ]

    /// Connects, checks the schema and reads the rows of `guilds` (every guild when empty).
    ///
    /// - Throws: ``LegacyImportError`` with code `unreachable`, `missingSchema` (naming the table or
    ///   column) or `query`.
    public func read(guilds: [Int64], progress: Progress? = nil) async throws -> LegacyData {
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(
                configuration: try dsn.configuration(), id: 1, logger: logger)
        } catch {
            throw LegacyImportError(
                .unreachable, "cannot connect to \(dsn): \(LegacyDatabase.describe(error))", underlying: error)
        }
        do {
            try await checkSchema(connection)
            let data = try await readTables(connection, guilds: guilds, progress: progress)
            try? await connection.close()
            return data
        } catch {
            try? await connection.close()
            throw error
        }
    }

    private func checkSchema(_ connection: PostgresConnection) async throws {
        let rows = try await run(
            connection, "information_schema.columns",
            """
            SELECT table_name::text, column_name::text FROM information_schema.columns
            WHERE table_schema = current_schema()
            """)
        var present: [String: Set<String>] = [:]
        for try await (table, column) in rows.decode((String, String).self) {
            present[table, default: []].insert(column)
        }
        for table in LegacyDatabase.requiredColumns.keys.sorted() {
            guard let columns = present[table] else {
                throw LegacyImportError(.missingSchema, "table \(table) is missing from \(dsn.database)")
            }
            for column in LegacyDatabase.requiredColumns[table]! where !columns.contains(column) {
                throw LegacyImportError(.missingSchema, "column \(table).\(column) is missing from \(dsn.database)")
            }
        }
    }

    private func run(_ connection: PostgresConnection, _ table: String, _ query: PostgresQuery) async throws
        -> PostgresRowSequence
    {
        do {
            return try await connection.query(query, logger: logger)
        } catch {
            throw LegacyImportError(
                .query, "reading \(table) failed: \(LegacyDatabase.describe(error))", underlying: error)
        }
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] { return message }
            return "\(error.code)" + (error.underlying.map { ": \($0)" } ?? "")
        }
        return "\(error)"
    }

    // MARK: - Tables

    private func readTables(_ c: PostgresConnection, guilds: [Int64], progress: Progress?) async throws -> LegacyData {
        var data = LegacyData()
        let all = guilds.isEmpty
        let ids = guilds
        func ms(_ column: String) -> String { "(extract(epoch FROM \(column)) * 1000)::bigint" }

        // Times each table and reports its progress every 50,000 rows; `body` decodes the rows and
        // counts each one through the counter it is given.
        func table(
            _ name: String, _ query: PostgresQuery,
            _ body: (PostgresRowSequence, RowCounter) async throws -> Void
        ) async throws {
            let counter = RowCounter(table: name, progress: progress)
            let rows = try await run(c, name, query)
            do {
                try await body(rows, counter)
            } catch let error as LegacyImportError {
                throw error
            } catch {
                throw LegacyImportError(
                    .query, "reading \(name) failed: \(LegacyDatabase.describe(error))", underlying: error)
            }
            data.rowCount[name, default: 0] += counter.rows
            counter.finish()
        }

        try await table(
            "links",
            """
            SELECT discord_id, kick_name, discord_server_id, \(unescaped: ms("linked_at")), platform::text
            FROM links WHERE (\(all) OR discord_server_id = ANY(\(ids))) ORDER BY discord_server_id, discord_id, platform
            """
        ) { rows, counter in
            for try await row in rows.decode((Int64, String, Int64, Int64?, String).self) {
                let (discord, kick, guild, linkedAt, platform) = row
                data[guild].links.append(
                    LegacyLink(
                        discordID: discord, kickName: kick, platform: platform, linkedAt: linkedAt,
                        rowKey: "\(discord)/\(guild)/\(platform)"))
                counter.add(1)
            }
        }
        try await table(
            "watchtime",
            """
            SELECT username, COALESCE(minutes, 0)::bigint, \(unescaped: ms("last_active")), discord_server_id
            FROM watchtime WHERE (\(all) OR discord_server_id = ANY(\(ids)))
            """
        ) { rows, counter in
            for try await row in rows.decode((String, Int64, Int64?, Int64).self) {
                data[row.3].watchtime.append(LegacyWatchtime(username: row.0, minutes: row.1, lastActive: row.2))
                counter.add(1)
            }
        }
        try await table(
            "user_points",
            """
            SELECT id::bigint, kick_username, discord_id, COALESCE(points, 0)::bigint,
                   COALESCE(total_earned, 0)::bigint, COALESCE(total_spent, 0)::bigint, discord_server_id
            FROM user_points WHERE discord_server_id IS NOT NULL AND (\(all) OR discord_server_id = ANY(\(ids)))
            ORDER BY id
            """
        ) { rows, counter in
            for try await row in rows.decode((Int64, String, Int64?, Int64, Int64, Int64, Int64).self) {
                data[row.6].points.append(
                    LegacyUserPoints(
                        id: row.0, kickUsername: row.1, discordID: row.2, points: row.3, totalEarned: row.4,
                        totalSpent: row.5))
                counter.add(1)
            }
        }
        try await table(
            "points_watchtime_converted",
            """
            SELECT discord_server_id, lower(kick_username), count(*)::bigint,
                   COALESCE(sum(minutes_converted), 0)::bigint, COALESCE(sum(points_awarded), 0)::bigint
            FROM points_watchtime_converted
            WHERE discord_server_id IS NOT NULL AND (\(all) OR discord_server_id = ANY(\(ids)))
            GROUP BY 1, 2
            """
        ) { rows, counter in
            for try await row in rows.decode((Int64, String, Int64, Int64, Int64).self) {
                data[row.0].ledger[row.1] = LegacyLedger(rows: row.2, first: row.3, second: row.4)
                counter.add(Int(row.2))
            }
        }
        try await table(
            "point_settings",
            """
            SELECT key, value, discord_server_id FROM point_settings
            WHERE (\(all) OR discord_server_id = ANY(\(ids))) ORDER BY key
            """
        ) { rows, counter in
            for try await row in rows.decode((String, String?, Int64).self) {
                data[row.2].settings.append(
                    LegacySetting(table: "point_settings", rowKey: "\(row.0)/\(row.2)", key: row.0, value: row.1))
                counter.add(1)
            }
        }
        try await table(
            "bot_settings",
            """
            SELECT id::bigint, key, value, discord_server_id FROM bot_settings
            WHERE discord_server_id IS NULL OR \(all) OR discord_server_id = ANY(\(ids)) ORDER BY id
            """
        ) { rows, counter in
            for try await row in rows.decode((Int64, String, String, Int64?).self) {
                let setting = LegacySetting(table: "bot_settings", rowKey: "\(row.0)", key: row.1, value: row.2)
                if let guild = row.3 {
                    data[guild].settings.append(setting)
                } else {
                    data.globalSettings.append(setting)
                }
                counter.add(1)
            }
        }
        try await table(
            "watchtime_roles",
            """
            SELECT id::bigint, role_name, minutes_required::bigint, COALESCE(display_order, 0)::bigint,
                   COALESCE(enabled, true), discord_server_id
            FROM watchtime_roles WHERE discord_server_id IS NULL OR \(all) OR discord_server_id = ANY(\(ids))
            ORDER BY id
            """
        ) { rows, counter in
            for try await row in rows.decode((Int64, String, Int64, Int64, Bool, Int64?).self) {
                let role = LegacyRole(id: row.0, name: row.1, minutes: row.2, displayOrder: row.3, enabled: row.4)
                if let guild = row.5 { data[guild].roles.append(role) } else { data.globalRoles.append(role) }
                counter.add(1)
            }
        }
        try await table(
            "point_shop_items",
            """
            SELECT id::bigint, name, price::bigint, COALESCE(stock, -1)::bigint, COALESCE(is_active, true),
                   COALESCE(per_user_limit, -1)::bigint, COALESCE(limit_window_seconds, 0)::bigint,
                   requirement_title, COALESCE(item_type, 'custom')::text, raffle_ticket_amount::bigint,
                   discord_server_id
            FROM point_shop_items WHERE discord_server_id IS NOT NULL AND (\(all) OR discord_server_id = ANY(\(ids)))
            ORDER BY id
            """
        ) { rows, counter in
            for try await row in rows.decode(
                (Int64, String, Int64, Int64, Bool, Int64, Int64, String?, String, Int64?, Int64).self)
            {
                data[row.10].items.append(
                    LegacyItem(
                        id: row.0, name: row.1, price: row.2, stock: row.3, active: row.4, perUserLimit: row.5,
                        limitWindowSeconds: row.6, requirementTitle: row.7, itemType: row.8, raffleTicketAmount: row.9))
                counter.add(1)
            }
        }
        try await table(
            "point_sales",
            """
            SELECT id::bigint, item_id::bigint, kick_username, discord_id, price_paid::bigint,
                   COALESCE(quantity, 1)::bigint, COALESCE(status, 'pending')::text, \(unescaped: ms("purchased_at")),
                   requirement_input, discord_server_id
            FROM point_sales WHERE discord_server_id IS NOT NULL AND (\(all) OR discord_server_id = ANY(\(ids)))
            ORDER BY id
            """
        ) { rows, counter in
            for try await row in rows.decode(
                (Int64, Int64?, String?, Int64?, Int64, Int64, String, Int64?, String?, Int64).self)
            {
                data[row.9].sales.append(
                    LegacySale(
                        id: row.0, itemID: row.1, kickUsername: row.2, discordID: row.3, pricePaid: row.4,
                        quantity: row.5,
                        status: row.6, purchasedAt: row.7, requirementInput: row.8))
                counter.add(1)
            }
        }
        try await table(
            "raffle_periods",
            """
            SELECT id::bigint, discord_server_id, \(unescaped: ms("start_date")), \(unescaped: ms("end_date")),
                   COALESCE(status, 'active')::text, COALESCE(total_tickets, 0)::bigint, period_number::bigint,
                   server_seed, server_seed_commitment
            FROM raffle_periods WHERE (\(all) OR discord_server_id = ANY(\(ids))) ORDER BY id
            """
        ) { rows, counter in
            for try await row in rows.decode((Int64, Int64, Int64, Int64, String, Int64, Int64?, String?, String?).self)
            {
                data[row.1].periods.append(
                    LegacyPeriodRow(
                        id: row.0, startsAt: row.2, endsAt: row.3, status: row.4, totalTickets: row.5, number: row.6,
                        serverSeed: row.7, commitment: row.8))
                counter.add(1)
            }
        }
        try await table(
            "raffle_tickets",
            """
            SELECT id::bigint, period_id::bigint, discord_server_id, discord_id, kick_name,
                   COALESCE(watchtime_tickets, 0)::bigint, COALESCE(gifted_sub_tickets, 0)::bigint,
                   COALESCE(shuffle_wager_tickets, 0)::bigint, COALESCE(bonus_tickets, 0)::bigint,
                   COALESCE(total_tickets, 0)::bigint
            FROM raffle_tickets WHERE period_id IS NOT NULL AND (\(all) OR discord_server_id = ANY(\(ids)))
            ORDER BY id
            """
        ) { rows, counter in
            for try await row in rows.decode(
                (Int64, Int64, Int64, Int64, String, Int64, Int64, Int64, Int64, Int64).self)
            {
                data[row.2].tickets.append(
                    LegacyTicketRow(
                        id: row.0, period: row.1, discordID: row.3, kickName: row.4, watchtime: row.5, giftedSub: row.6,
                        shuffleWager: row.7, bonus: row.8, total: row.9))
                counter.add(1)
            }
        }
        try await table(
            "raffle_ticket_log",
            """
            SELECT p.discord_server_id, l.period_id::bigint, l.discord_id, count(*)::bigint,
                   COALESCE(sum(l.ticket_change), 0)::bigint
            FROM raffle_ticket_log l JOIN raffle_periods p ON p.id = l.period_id
            WHERE (\(all) OR p.discord_server_id = ANY(\(ids))) GROUP BY 1, 2, 3
            """
        ) { rows, counter in
            for try await row in rows.decode((Int64, Int64, Int64, Int64, Int64).self) {
                data[row.0].ticketLog[LegacyPeriodPerson(period: row.1, discordID: row.2)] = LegacyLedger(
                    rows: row.3, first: row.4, second: 0)
                counter.add(Int(row.3))
            }
        }
        try await table(
            "raffle_watchtime_converted",
            """
            SELECT p.discord_server_id, c.period_id::bigint, lower(c.kick_name), count(*)::bigint,
                   COALESCE(sum(c.minutes_converted), 0)::bigint, COALESCE(sum(c.tickets_awarded), 0)::bigint
            FROM raffle_watchtime_converted c JOIN raffle_periods p ON p.id = c.period_id
            WHERE (\(all) OR p.discord_server_id = ANY(\(ids))) GROUP BY 1, 2, 3
            """
        ) { rows, counter in
            for try await row in rows.decode((Int64, Int64, String, Int64, Int64, Int64).self) {
                data[row.0].ticketConversions[LegacyPeriodName(period: row.1, kickName: row.2)] = LegacyLedger(
                    rows: row.3, first: row.4, second: row.5)
                counter.add(Int(row.3))
            }
        }
        try await table(
            "raffle_gifted_subs",
            """
            SELECT p.discord_server_id, g.id::bigint, g.period_id::bigint, g.gifter_kick_name, g.gifter_discord_id,
                   COALESCE(g.sub_count, 1)::bigint, g.tickets_awarded::bigint
            FROM raffle_gifted_subs g JOIN raffle_periods p ON p.id = g.period_id
            WHERE (\(all) OR p.discord_server_id = ANY(\(ids))) ORDER BY g.id
            """
        ) { rows, counter in
            for try await row in rows.decode((Int64, Int64, Int64, String, Int64?, Int64, Int64).self) {
                data[row.0].gifts.append(
                    LegacyGift(
                        id: row.1, period: row.2, gifterKickName: row.3, gifterDiscordID: row.4, subCount: row.5,
                        ticketsAwarded: row.6))
                counter.add(1)
            }
        }
        try await table(
            "raffle_draws",
            """
            SELECT id::bigint, period_id::bigint, discord_server_id, total_tickets::bigint,
                   total_participants::bigint, winner_discord_id, winner_kick_name, winning_ticket::bigint,
                   \(unescaped: ms("drawn_at")), server_seed, client_seed, nonce, server_seed_commitment
            FROM raffle_draws WHERE period_id IS NOT NULL AND (\(all) OR discord_server_id = ANY(\(ids)))
            ORDER BY id
            """
        ) { rows, counter in
            for try await row in rows.decode(
                (Int64, Int64, Int64, Int64, Int64, Int64, String, Int64, Int64?, String?, String?, String?, String?)
                    .self)
            {
                data[row.2].draws.append(
                    LegacyDrawRow(
                        id: row.0, period: row.1, totalTickets: row.3, participants: row.4, winnerDiscordID: row.5,
                        winnerKickName: row.6, winningTicket: row.7, drawnAt: row.8, serverSeed: row.9,
                        clientSeed: row.10,
                        nonce: row.11, commitment: row.12))
                counter.add(1)
            }
        }
        try await table(
            "raffle_exclusions",
            """
            SELECT id::bigint, discord_server_id, kick_username, discord_id, reason FROM raffle_exclusions
            WHERE (\(all) OR discord_server_id = ANY(\(ids))) ORDER BY id
            """
        ) { rows, counter in
            for try await row in rows.decode((Int64, Int64, String?, String?, String?).self) {
                data[row.1].exclusions.append(
                    LegacyExclusion(id: row.0, kickUsername: row.2, discordID: row.3, reason: row.4))
                counter.add(1)
            }
        }
        return data
    }

    public static func seconds(since start: ContinuousClock.Instant) -> Double {
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}

/// Counts one table's rows and reports progress (not shared across tasks: one table is read at a time).
final class RowCounter {
    let table: String
    let progress: LegacyDatabase.Progress?
    let start = ContinuousClock.now
    private(set) var rows = 0
    private var nextReport = 50_000

    init(table: String, progress: LegacyDatabase.Progress?) {
        self.table = table
        self.progress = progress
    }

    func add(_ n: Int) {
        rows += n
        if rows >= nextReport {
            nextReport = rows + 50_000
            progress?(table, rows, LegacyDatabase.seconds(since: start), false)
        }
    }

    func finish() { progress?(table, rows, LegacyDatabase.seconds(since: start), true) }
}
