import Domain
import EventLog
import Foundation
import Legacy
import Partition
import PostgresNIO
import Projections
import TallyTesting
import Testing

/// The import against a real PostgreSQL holding an old-bot database with every irregularity of
/// `legacy-schema.md` (Fixtures/legacy-data.sql): what Tally holds afterwards is compared with
/// answers computed by SQL from the same database.
@Suite(.timeLimit(.minutes(5))) struct LegacyImportTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let secret = Array(repeating: UInt8(7), count: 32)

    /// A fresh database on the shared server with the old schema and, unless `data` is false, the fixture rows.
    static func legacyDatabase(_ label: String = #function, data: Bool = true) throws -> PostgresTestDatabase {
        let server = try PostgresServer.shared()
        let database = try server.createDatabase(label)
        try server.psql(
            try String(contentsOf: fixtures.appendingPathComponent("legacy-schema.sql"), encoding: .utf8),
            database: database)
        if data {
            try server.psql(
                try String(contentsOf: fixtures.appendingPathComponent("legacy-data.sql"), encoding: .utf8),
                database: database)
        }
        return database
    }

    static func dsn(_ database: PostgresTestDatabase) throws -> LegacyDSN {
        try LegacyDSN(parsing: database.dsn + "?sslmode=disable")
    }

    /// Reads and imports `database` into `data`.
    static func importLegacy(
        _ database: PostgresTestDatabase, into data: DataDirectory, guilds: [Int64] = [], dryRun: Bool = false,
        merge: Bool = false
    ) async throws -> LegacyReport {
        let dsn = try dsn(database)
        let legacy = try await LegacyDatabase(dsn: dsn, logger: testLogger).read(guilds: guilds)
        var configuration = LegacyImporter.Configuration(raffleSecret: secret)
        configuration.guilds = guilds
        configuration.dryRun = dryRun
        configuration.merge = merge
        var report = LegacyReport(dsn: dsn.description, dryRun: dryRun, merge: merge)
        report.rows = legacy.rowCount
        try await LegacyImporter(data: data, configuration: configuration, logger: testLogger).run(
            legacy, report: &report)
        return report
    }

    /// Every guild's state, folded from the data directory's logs.
    static func states(_ data: DataDirectory) throws -> [GuildID: GuildState] {
        var states: [GuildID: GuildState] = [:]
        for p in data.existingPartitions {
            let log = try PartitionLog.openForReading(
                directory: data.directory(of: p), partition: p, logger: testLogger)
            var model = PartitionModel()
            try log.forEachEvent(LogQuery()) { model.apply($0) }
            states.merge(model.guilds.lazy.map { ($0.key, $0.value) }) { a, _ in a }
        }
        return states
    }

    /// The read models, brought up to date.
    static func readModels(_ data: DataDirectory) throws -> [PartitionID: ReadModelStore] {
        try FileManager.default.createDirectory(atPath: data.path + "/readmodels", withIntermediateDirectories: true)
        var stores: [PartitionID: ReadModelStore] = [:]
        for p in data.existingPartitions {
            let log = try PartitionLog.openForReading(
                directory: data.directory(of: p), partition: p, logger: testLogger)
            let store = try ReadModelStore(path: ReadModelStore.path(dataDirectory: data, partition: p))
            var projector = Projector(log: log, store: store)
            _ = try projector.catchUp()
            stores[p] = store
        }
        return stores
    }

    /// Runs `sql` and returns its rows as (text, bigint) pairs.
    static func pairs(_ database: PostgresTestDatabase, _ sql: String) async throws -> [(String, Int64)] {
        let connection = try await PostgresConnection.connect(
            configuration: try dsn(database).configuration(), id: 1, logger: testLogger)
        defer { Task { try? await connection.close() } }
        var out: [(String, Int64)] = []
        let rows = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: testLogger)
        for try await row in rows.decode((String, Int64).self) { out.append(row) }
        return out
    }

    /// The person key `legacy-schema.md` defines, in SQL: `discord:<id>` when the Kick name is linked
    /// in the guild (platform kick, lower-case), else `kick_name:<lower-case name>`.
    static func personSQL(_ name: String, _ guild: String) -> String {
        """
        COALESCE((SELECT 'discord:' || l.discord_id FROM links l WHERE l.platform = 'kick'
                  AND l.discord_server_id = \(guild) AND lower(l.kick_name) = lower(\(name))),
                 'kick_name:' || lower(\(name)))
        """
    }

    static let importedGuilds: [Int64] = [111, 222]

    @Test func importedGuildsMatchTheOldDatabaseAsSQLComputesIt() async throws {
        let database = try Self.legacyDatabase()
        let directory = TemporaryDirectory()
        let data = try DataDirectory.open(path: directory.path, creatingWith: 4)
        let report = try await Self.importLegacy(database, into: data)

        let byGuild = Dictionary(uniqueKeysWithValues: report.guilds.map { ($0.guild, $0) })
        #expect(byGuild["111"]?.status == "imported")
        #expect(byGuild["222"]?.status == "imported")
        // The rule-breaking guilds are refused, naming table and row, and hold nothing.
        #expect(byGuild["333"]?.status == "failed")
        #expect(byGuild["333"]?.error?.contains("user_points#") == true)
        #expect(byGuild["333"]?.error?.contains("negative balance") == true)
        #expect(byGuild["444"]?.status == "failed")
        #expect(byGuild["444"]?.error?.contains("links#") == true)
        #expect(byGuild["444"]?.error?.contains("belongs to two Discord users") == true)

        let states = try Self.states(data)
        #expect(states[GuildID(333)] == nil && states[GuildID(444)] == nil)
        let stores = try Self.readModels(data)

        for g in Self.importedGuilds {
            let guild = GuildID(UInt64(g))
            let state = try #require(states[guild])
            let store = try #require(stores[data.partition(for: guild)])

            // Each person's balance and minutes.
            let balances = try await Self.pairs(
                database,
                "SELECT \(Self.personSQL("u.kick_username", "u.discord_server_id")) AS p, sum(u.points)::bigint FROM user_points u WHERE u.discord_server_id = \(g) GROUP BY 1"
            )
            for (person, points) in balances {
                let id = try #require(PersonID(parsing: person))
                #expect(state.person(id).points == points, "guild \(g) \(person) points")
            }
            let minutes = try await Self.pairs(
                database,
                "SELECT \(Self.personSQL("w.username", "w.discord_server_id")) AS p, sum(w.minutes)::bigint FROM watchtime w WHERE w.discord_server_id = \(g) GROUP BY 1"
            )
            for (person, value) in minutes {
                let id = try #require(PersonID(parsing: person))
                #expect(state.person(id).minutes == value, "guild \(g) \(person) minutes")
            }
            let everyone = Set(balances.map { $0.0 } + minutes.map { $0.0 })
            #expect(Set(state.people.keys.map { $0.description }).isSuperset(of: everyone))

            // Leaderboards: top 25 by points and by watch time, ties included, as the read models serve them.
            for (kind, answer) in [(LeaderboardKind.points, balances), (.watchtime, minutes)] {
                let expected = answer.filter { $0.1 > 0 }.sorted { ($0.1, $1.0) > ($1.1, $0.0) }.prefix(25)
                let board = try store.leaderboard(kind, guild: guild, limit: 25)
                #expect(board.map { $0.person } == expected.map { $0.0 }, "guild \(g) \(kind) leaderboard")
                #expect(board.map { $0.value } == expected.map { $0.1 })
                for (a, b) in zip(board, board.dropFirst()) where a.value == b.value { #expect(a.rank == b.rank) }
            }

            // Links.
            let links = try await Self.pairs(
                database,
                "SELECT lower(kick_name), discord_id FROM links WHERE platform = 'kick' AND discord_server_id = \(g)")
            #expect(state.legacy.links.count == links.count)
            for (name, user) in links { #expect(state.legacy.links[UserID(UInt64(user))] == name) }

            // Role eligibility: the guild's own enabled thresholds that each linked person's minutes reach.
            let eligible = try await Self.pairs(
                database,
                """
                SELECT string_agg(r.role_name, ',' ORDER BY r.display_order, r.id), l.discord_id
                FROM links l JOIN watchtime_roles r ON r.discord_server_id = l.discord_server_id AND r.enabled
                JOIN watchtime w ON w.discord_server_id = l.discord_server_id AND lower(w.username) = lower(l.kick_name)
                WHERE l.platform = 'kick' AND l.discord_server_id = \(g) AND w.minutes >= r.minutes_required
                GROUP BY l.discord_id
                """)
            for user in state.legacy.links.keys {
                let names = eligible.first { $0.1 == Int64(user.rawValue) }?.0 ?? ""
                #expect(state.eligibleRoleNames(user).joined(separator: ",") == names, "guild \(g) user \(user) roles")
            }

            // Settings: the guild's rows over the global ones, for the keys Tally knows.
            let settings = try await Self.pairs(
                database,
                """
                SELECT key, value::bigint FROM (
                  SELECT DISTINCT ON (key) key, value FROM (
                    SELECT key, value, 0 AS o FROM bot_settings WHERE discord_server_id IS NULL
                    UNION ALL SELECT key, value, 1 FROM point_settings WHERE discord_server_id = \(g)
                    UNION ALL SELECT key, value, 2 FROM bot_settings WHERE discord_server_id = \(g)) s
                  ORDER BY key, o DESC) e
                WHERE key IN ('points_per_5min', 'watchtime_tickets_per_hour', 'gifted_sub_tickets')
                """)
            for (key, value) in settings {
                #expect(state.settings.overrides[try #require(SettingKey(name: key))] == value, "guild \(g) \(key)")
            }
        }

        // The active period's tickets per person (111), by total_tickets, and its exclusions.
        let g111 = try #require(states[GuildID(111)])
        #expect(g111.raffle.current != nil)
        let tickets = try await Self.pairs(
            database,
            "SELECT 'discord:' || t.discord_id, t.total_tickets::bigint FROM raffle_tickets t JOIN raffle_periods p ON p.id = t.period_id WHERE p.status = 'active' AND p.discord_server_id = 111"
        )
        #expect(tickets.count == 4)
        for (person, total) in tickets {
            #expect(g111.person(try #require(PersonID(parsing: person))).totalTickets == total, "\(person) tickets")
        }
        #expect(g111.person(.discord(UserID(1005))).excluded)
        #expect(g111.person(.kickName("nightbot")).excluded)
        let raffleTotal = try await Self.pairs(
            database,
            "SELECT 'total', total_tickets::bigint FROM raffle_periods WHERE status = 'active' AND discord_server_id = 111"
        )
        let eligibleTickets = g111.people.values.filter { !$0.excluded }.reduce(Int64(0)) { $0 + $1.totalTickets }
        #expect(eligibleTickets == raffleTotal.first?.1)

        // Shop and orders with their status; no points moved twice.
        #expect(g111.items.count == 4)
        #expect(g111.items.values.filter { !$0.active }.map { $0.name } == ["Old emote"])
        #expect(g111.orders.count == 5)
        #expect(g111.orders.values.filter { $0.status == .pending }.count == 1)
        #expect(g111.orders.values.filter { $0.status == .cancelled }.count == 1)

        // The report: inconsistencies row by row, unknown settings, roles to map, the old draws checked.
        let r111 = try #require(byGuild["111"])
        #expect(r111.inconsistencies.contains { $0.row == "raffle_tickets#11" })
        #expect(
            r111.inconsistencies.contains {
                $0.row.hasPrefix("user_points#") && $0.detail.contains("total_earned 1000")
            })
        #expect(r111.inconsistencies.contains { $0.row == "point_sales#24" })
        #expect(r111.unknownSettings.contains { $0.hasPrefix("points_enabled") })
        #expect(r111.unknownSettings.contains { $0.hasPrefix("welcome_message") })
        #expect(r111.roles.map { $0.name } == ["Tier 1", "Tier 2", "Tier 3"])
        #expect(r111.draws.count == 1)
        #expect(r111.draws.first?.result == "verified")
        #expect(r111.skipped.contains { $0.reason.contains("twitch") })
        let r222 = try #require(byGuild["222"])
        #expect(r222.draws.first?.result.hasPrefix("unverified: the ticket rows are gone") == true)
        #expect(r222.roles.map { $0.minutes } == [60, 300])
    }

    @Test func aSecondImportOfTheSameDatabaseAppendsNothing() async throws {
        let database = try Self.legacyDatabase()
        let directory = TemporaryDirectory()
        let data = try DataDirectory.open(path: directory.path, creatingWith: 4)
        _ = try await Self.importLegacy(database, into: data, guilds: Self.importedGuilds)
        let before = try Self.logEnds(data)
        let again = try await Self.importLegacy(database, into: data, guilds: Self.importedGuilds)
        #expect(again.guilds.map { $0.status } == ["nothing_new", "nothing_new"])
        #expect(again.guilds.allSatisfy { $0.skipped.contains { $0.reason == "already imported" } })
        #expect(try Self.logEnds(data) == before)
    }

    static func logEnds(_ data: DataDirectory) throws -> [PartitionID: Offset] {
        var ends: [PartitionID: Offset] = [:]
        for p in data.existingPartitions {
            ends[p] = try PartitionLog.openForReading(
                directory: data.directory(of: p), partition: p, logger: testLogger
            )
            .endOffset
        }
        return ends
    }

    @Test func aDryRunWritesNothingAndReportsTheSame() async throws {
        let database = try Self.legacyDatabase()
        let directory = TemporaryDirectory()
        let path = directory.sub("never-created")
        let dry = try await Self.importLegacy(
            database, into: DataDirectory.planned(path: path, partitionCount: 4), guilds: Self.importedGuilds,
            dryRun: true)
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(dry.guilds.map { $0.status } == ["dry_run", "dry_run"])
        let data = try DataDirectory.open(path: directory.sub("real"), creatingWith: 4)
        let real = try await Self.importLegacy(database, into: data, guilds: Self.importedGuilds)
        for (a, b) in zip(dry.guilds, real.guilds) {
            #expect(
                (a.people, a.minutes, a.points, a.tickets, a.events) == (
                    b.people, b.minutes, b.points, b.tickets, b.events
                ))
        }
    }

    @Test func aGuildWithTallyHistoryIsRefusedUnlessMergedAndThenOnlyAbsentPeopleAreCreated() async throws {
        let database = try Self.legacyDatabase()
        let directory = TemporaryDirectory()
        let data = try DataDirectory.open(path: directory.path, creatingWith: 4)
        // Native history in 222: a chatter "ivan" with Kick id 9 spoke, and a setting changed.
        let guild = GuildID(222)
        let p = data.partition(for: guild)
        let log = try PartitionLog.openForWriting(
            directory: data.directory(of: p), partition: p, epoch: Epoch(1), logger: testLogger)
        var processor = CommandProcessor()
        let now = Timestamp(milliseconds: Int64(Date().timeIntervalSince1970 * 1000))
        for (i, command) in [
            Command.recordChatActivity(KickUserID(9), username: "Ivan"), .setSetting(.pointsPer5Min, 4),
        ]
        .enumerated() {
            let outcome = processor.process(
                command, guild: guild, context: CommandContext(key: "native-\(i)", time: now))
            _ = try await log.append(outcome.records)
        }
        await log.close()

        let refused = try await Self.importLegacy(database, into: data, guilds: [222])
        #expect(refused.guilds.first?.status == "failed")
        #expect(refused.guilds.first?.error?.contains("--merge") == true)
        #expect(try Self.states(data)[guild]?.legacy.importedEvents == 0)

        let merged = try await Self.importLegacy(database, into: data, guilds: [222], merge: true)
        #expect(merged.guilds.first?.status == "imported")
        let state = try #require(try Self.states(data)[guild])
        #expect(state.people[.kickName("ivan")] == nil)  // ivan is in Tally already (kick:9)
        #expect(state.person(.kickName("nightbot")).points == 1200)
        #expect(state.person(.discord(UserID(1001))).points == 20)
        #expect(state.settings.overrides[.pointsPer5Min] == 4)  // Tally's own setting stays
        #expect(state.legacy.roles.isEmpty)
        #expect(merged.guilds.first?.skipped.contains { $0.reason.contains("already in Tally") } == true)
    }

    @Test func aKickWebhookShowingAProvisionalNameMergesItWithoutRecrediting() async throws {
        let database = try Self.legacyDatabase()
        let directory = TemporaryDirectory()
        let data = try DataDirectory.open(path: directory.path, creatingWith: 4)
        _ = try await Self.importLegacy(database, into: data, guilds: [111])
        var state = try #require(try Self.states(data)[GuildID(111)])
        let eve = state.person(.kickName("eve"))
        let alice = state.person(.discord(UserID(1001)))
        let now = Timestamp(milliseconds: Int64(Date().timeIntervalSince1970 * 1000))

        // An unlinked chatter: the provisional person becomes kick:77.
        let decided = state.decide(
            .recordChatActivity(KickUserID(77), username: "Eve"), context: CommandContext(key: "m1", time: now))
        guard case .accepted(let events) = decided else { Issue.record("\(decided)"); return }
        #expect(events.first == .kickNameResolved(name: "eve", KickUserID(77)))
        #expect(!events.contains { if case .pointsEarned = $0 { true } else { false } })
        for (i, e) in events.enumerated() {
            state.apply(e, sequence: state.lastSequence + 1, timestamp: now, key: i == 0 ? "m1" : nil)
        }
        #expect(state.people[.kickName("eve")] == nil)
        #expect(state.person(.kick(KickUserID(77))) == eve)

        // A linked person's provisional link: the Kick id joins the Discord user, whose totals stay.
        let linked = state.decide(
            .recordChatActivity(KickUserID(55), username: "alice"), context: CommandContext(key: "m2", time: now))
        guard case .accepted(let more) = linked else { Issue.record("\(linked)"); return }
        for e in more { state.apply(e, sequence: state.lastSequence + 1, timestamp: now) }
        #expect(state.links[UserID(1001)] == KickUserID(55))
        #expect(state.legacy.links[UserID(1001)] == nil)
        #expect(state.person(.discord(UserID(1001))) == alice)
        #expect(state.owner(of: KickUserID(55)) == .discord(UserID(1001)))

        // An OAuth link showing a provisional name: its totals join the Discord user who linked.
        let frank = state.person(.kickName("frank"))
        let user = UserID(7777)
        for (key, command) in [
            ("l1", Command.requestLink(user, expiresAt: Timestamp(milliseconds: now.rawValue + 60_000))),
            ("l2", .confirmLink(user, KickUserID(88), kickUsername: "Frank")),
        ] {
            let outcome = state.decide(command, context: CommandContext(key: key, time: now))
            guard case .accepted(let events) = outcome else {
                Issue.record("\(outcome)")
                return
            }
            if key == "l2" { #expect(events.contains(.kickNameResolved(name: "frank", KickUserID(88)))) }
            for e in events { state.apply(e, sequence: state.lastSequence + 1, timestamp: now) }
        }
        #expect(state.people[.kickName("frank")] == nil)
        #expect(state.person(.discord(user)).points == frank.points)
        #expect(state.person(.discord(user)).minutes == frank.minutes)

        // Seen again: nothing more to resolve.
        let again = state.decide(
            .recordChatActivity(KickUserID(77), username: "eve"), context: CommandContext(key: "m3", time: now))
        guard case .accepted(let third) = again else { Issue.record("\(again)"); return }
        #expect(!third.contains { if case .kickNameResolved = $0 { true } else { false } })
    }

    @Test func importedRoleNamesGrantOnceMappedToARoleID() async throws {
        let database = try Self.legacyDatabase()
        let directory = TemporaryDirectory()
        let data = try DataDirectory.open(path: directory.path, creatingWith: 4)
        _ = try await Self.importLegacy(database, into: data, guilds: [111])
        var state = try #require(try Self.states(data)[GuildID(111)])
        let now = Timestamp(milliseconds: Int64(Date().timeIntervalSince1970 * 1000))
        let decided = state.decide(
            .setRoleThreshold(RoleThreshold(role: RoleID(9001), name: "Tier 2", minutes: 600, position: 2)),
            context: CommandContext(key: "roles-set", time: now))
        guard case .accepted(let events) = decided else { Issue.record("\(decided)"); return }
        let granted = Set(events.compactMap { if case .roleGrantRequested(let u, _) = $0 { u.rawValue } else { nil } })
        // alice 3000, bob 700, carol 1500 minutes reach 600; dave (no watch time) and the streamer (50) do not.
        #expect(granted == [1001, 1002, 1003])
        for e in events { state.apply(e, sequence: state.lastSequence + 1, timestamp: now) }
        #expect(state.unmappedRoles.map { $0.name } == ["Tier 1", "Tier 3"])
    }

    @Test func badInputFailsClearlyAndWritesNothing() async throws {
        // Unreachable: a closed loopback port.
        let closed = try LegacyDSN(parsing: "postgresql://postgres@127.0.0.1:1/none?sslmode=disable")
        await #expect {
            _ = try await LegacyDatabase(dsn: closed, logger: testLogger).read(guilds: [])
        } throws: { ($0 as? LegacyImportError)?.code == .unreachable }

        // A missing column, named.
        let database = try Self.legacyDatabase(data: false)
        try PostgresServer.shared().psql("ALTER TABLE watchtime DROP COLUMN minutes", database: database)
        await #expect {
            _ = try await LegacyDatabase(dsn: try Self.dsn(database), logger: testLogger).read(guilds: [])
        } throws: { error in
            guard let error = error as? LegacyImportError else { return false }
            return error.code == .missingSchema && error.message.contains("watchtime.minutes")
        }

        // A malformed DSN.
        #expect(throws: LegacyImportError.self) { try LegacyDSN(parsing: "mysql://x@y/z") }
    }
}
