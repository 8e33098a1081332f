import Domain
import EventLog
import Foundation
import GRDB
import Partition
import TallyTesting
import Testing

@testable import Projections

@Suite(.serialized, .timeLimit(.minutes(5))) struct ProjectorTests {
    /// A fresh full rebuild of the partition in `directory`, returned as a dump.
    func fullRebuild(_ log: PartitionLog, _ dir: String) throws -> [String] {
        let path = dir + "/fresh-\(UUID().uuidString.prefix(6)).sqlite"
        _ = try Rebuilder(log: log, livePath: path).rebuild()
        return try ReadModelStore(path: path).dump()
    }

    @Test func projectorKilledMidwayResumesToTheSameReadModelsAsAFullRebuild() async throws {
        let dir = TemporaryDirectory()
        let data = try DataDirectory.open(path: dir.path, creatingWith: 1)
        var fixture = try LogFixture(data.directory(of: PartitionID(0)))
        _ = try await fixture.simulate(40_000)
        let end = fixture.log.endOffset
        await fixture.log.close()
        #expect(end.rawValue > 30_000)

        // Kill a real projector process at random moments, several times, then let one finish.
        let dbPath = ReadModelStore.path(dataDirectory: data, partition: PartitionID(0))
        var checkpoints: [UInt64] = []
        for round in 0..<4 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: tallyBinary)
            // A commit (and a progress line) per event: the child fills the pipe and then waits
            // for this test to read, so the kill lands midway however busy the machine is.
            process.arguments = ["project", dir.path, "--flush-every", "1"]
            process.standardOutput = FileHandle.nullDevice
            let progress = Pipe()
            process.standardError = progress
            try process.run()
            // Let it commit a few hundred events more each round, then kill it without warning.
            var lines = 0
            while lines < 200 + round * 400 {
                let chunk = progress.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                lines += chunk.filter { $0 == UInt8(ascii: "\n") }.count
            }
            try await Task.sleep(for: .milliseconds(Int.random(in: 0...20)))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            if FileManager.default.fileExists(atPath: dbPath) {
                checkpoints.append(try ReadModelStore(path: dbPath).checkpoint().rawValue)
            }
        }
        print("kill checkpoints: \(checkpoints) of \(end)")
        #expect(checkpoints.contains { $0 > 0 && $0 < end.rawValue }, "no kill landed midway: \(checkpoints)")
        let log = try PartitionLog.openForReading(
            directory: data.directory(of: PartitionID(0)), partition: PartitionID(0), logger: testLogger)
        var projector = Projector(log: log, store: try ReadModelStore(path: dbPath))
        try projector.catchUp()
        #expect(try ReadModelStore(path: dbPath).checkpoint() == end)
        #expect(try ReadModelStore(path: dbPath).dump() == fullRebuild(log, dir.path))
    }

    @Test func incrementalProjectionEqualsAFullRebuildAtEveryFlushSize() async throws {
        let dir = TemporaryDirectory()
        var fixture = try LogFixture(dir.path + "/log")
        _ = try await fixture.simulate(8_000, guilds: 4, seed: 9)
        for flush in [1, 7, 500] {
            let store = try ReadModelStore(path: dir.path + "/inc-\(flush).sqlite")
            var projector = Projector(log: fixture.log, store: store)
            projector.flushEvery = flush
            try projector.catchUp()
            // More events arrive; the same projector continues from its checkpoint.
            _ = try await fixture.simulate(1_000, guilds: 4, seed: 10)
            try projector.catchUp()
            let incremental = try store.dump()
            let full = try fullRebuild(fixture.log, dir.path)
            for line in Set(incremental).symmetricDifference(full).sorted().prefix(8) {
                print("DIFF \(incremental.contains(line) ? "incremental" : "full"): \(line)")
            }
            #expect(
                incremental == full,
                "flush every \(flush): \(Set(incremental).symmetricDifference(full).sorted().prefix(6))")
        }
        await fixture.log.close()
    }

    /// A first write into empty read models is a bulk load (rows in key order, leaderboard indexes
    /// built at the end): it must leave the same rows, and the same indexes, as the row-by-row upserts.
    @Test func aBulkFirstWriteEqualsTheRowByRowOneAndKeepsTheIndexes() async throws {
        let dir = TemporaryDirectory()
        var fixture = try LogFixture(dir.path + "/log")
        _ = try await fixture.simulate(20_000, guilds: 5, seed: 21)
        let end = fixture.log.endOffset
        func written(_ name: String, bulkFrom: Int) throws -> ReadModelStore {
            var model = try ProjectionModel.folded(
                fixture.log, to: end, globalDefaults: [:], progressEvery: 1_000_000, progress: nil
            ).model
            let store = try ReadModelStore(path: dir.path + "/\(name).sqlite")
            try store.write(&model, bulkFrom: bulkFrom)
            return store
        }
        let bulk = try written("bulk", bulkFrom: 1)
        let rows = try written("rows", bulkFrom: .max)
        let dumped = try bulk.dump()
        #expect(dumped.filter { $0.hasPrefix("people ") }.count > 100, "too few people to mean anything")
        #expect(dumped == (try rows.dump()))
        let indexes = { (store: ReadModelStore) in
            try store.read { db in
                try String.fetchAll(
                    db, sql: "SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name")
            }
        }
        #expect(try indexes(bulk) == indexes(rows))
        #expect(try indexes(bulk).count == 3)
        // A query the leaderboard runs uses its index in both.
        let plan = try bulk.read { db in
            try Row.fetchAll(
                db, sql: "EXPLAIN QUERY PLAN SELECT person FROM people WHERE guild = 1 ORDER BY score DESC LIMIT 10"
            ).map { $0["detail"] as String }
        }
        #expect(plan.joined().contains("people_by_score"), "\(plan)")
        await fixture.log.close()
    }

    @Test func rebuildWithANewRuleNamesExactlyThePeopleItAffects() async throws {
        let dir = TemporaryDirectory()
        var fixture = try LogFixture(dir.path + "/log")
        _ = try await fixture.simulate(20_000, guilds: 4, seed: 3)
        let live = dir.path + "/live.sqlite"
        var projector = Projector(log: fixture.log, store: try ReadModelStore(path: live))
        try projector.catchUp()
        let model = projector.model

        // Version 2 of the people projection ranks the points leaderboard by lifetime points
        // earned instead of the balance: only people who spent, were refunded or adjusted differ.
        let v2 = ProjectionCatalog(peopleVersion: 2, pointsScore: { $0.pointsEarned })
        let report = try Rebuilder(log: fixture.log, livePath: live, catalog: v2).rebuild(only: ["people"])
        var expected = Set<String>()
        for (guild, state) in model.guilds {
            for (person, p) in state.people where p.points != p.pointsEarned {
                expected.insert("\(guild) \(person)")
            }
        }
        #expect(!expected.isEmpty)
        #expect(Set(report.diff.people.map { "\($0.guild) \($0.person)" }) == expected)
        for change in report.diff.people {
            #expect(Array(change.changes.keys) == ["score"], "only the score column changes: \(change)")
            let p = model.guilds[change.guild]!.people[PersonID(parsing: change.person)!]!
            #expect(change.changes["score"]!.delta == p.pointsEarned - p.points)
        }
        #expect(report.diff.otherRows.isEmpty)
        // The swap is complete: the live database now carries version 2 and the new scores.
        let swapped = try ReadModelStore(path: live, catalog: v2)
        #expect(try swapped.versions()["people"] == 2)
        #expect(throws: ProjectionsError.self) { try ReadModelStore(path: live) }
        await fixture.log.close()
    }

    /// Issue 10 bumped the raffle projection to version 2 (new columns): a database written by the
    /// previous release refuses to open until `tally rebuild`, which names the guilds whose raffle rows
    /// changed and leaves the people untouched.
    @Test func rebuildingTheRaffleProjectionFromVersion1NamesTheGuildsWithRaffles() async throws {
        let dir = TemporaryDirectory()
        var fixture = try LogFixture(dir.path + "/log")
        let simulator = try await fixture.simulate(6_000, guilds: 3, seed: 12)
        let live = dir.path + "/live.sqlite"
        var projector = Projector(log: fixture.log, store: try ReadModelStore(path: live))
        try projector.catchUp()
        // Turn it into what the previous release wrote: version 1 raffle tables.
        let queue = try DatabaseQueue(path: live)
        try await queue.write { db in
            try db.execute(
                sql: """
                    CREATE TABLE old_periods AS SELECT guild, period, starts_at, ends_at, commitment, open, seed FROM raffle_periods;
                    DROP TABLE raffle_periods; ALTER TABLE old_periods RENAME TO raffle_periods;
                    CREATE TABLE old_draws AS SELECT guild, period, number, winner, winning_ticket, total_tickets,
                        winner_tickets, participants, participants_digest, seed FROM raffle_draws;
                    DROP TABLE raffle_draws; ALTER TABLE old_draws RENAME TO raffle_draws;
                    UPDATE projection_versions SET version = 1 WHERE name = 'raffle';
                    """)
        }
        try queue.close()
        #expect(throws: ProjectionsError.self) { try ReadModelStore(path: live) }
        let report = try Rebuilder(log: fixture.log, livePath: live).rebuild(only: ["raffle"])
        #expect(report.diff.people.isEmpty)
        #expect(Set(report.diff.otherRows.keys) == Set(simulator.guilds))
        #expect(report.diff.otherRows.values.allSatisfy { $0["raffle_periods"] ?? 0 > 0 })
        let store = try ReadModelStore(path: live)
        #expect(try store.versions()["raffle"] == 2)
        let raffle = try store.raffle(guild: simulator.guilds[0])
        #expect(raffle.periods.allSatisfy { $0.beaconRound > 0 })
        await fixture.log.close()
    }

    @Test func readModelsAsOfAnOffsetEqualThoseProjectedUpToIt() async throws {
        let dir = TemporaryDirectory()
        var fixture = try LogFixture(dir.path + "/log")
        _ = try await fixture.simulate(6_000, guilds: 3, seed: 5)
        let cut = Offset(fixture.log.endOffset.rawValue / 2)
        // What a projector would have written had it stopped exactly at `cut`.
        var model = PartitionModel()
        try fixture.log.read(LogQuery(to: cut)) { model.apply(try EventCodec.decode($0)) }
        let then = try GuildHistory(log: fixture.log).readModels(asOf: .offset(cut))
        #expect(try then.checkpoint() == cut)
        for guild in model.guilds.keys {
            let board = try then.leaderboard(.watchtime, guild: guild, limit: 5)
            let expected = model.guilds[guild]!.people.map(\.value.minutes).filter { $0 > 0 }.sorted(by: >).prefix(5)
            #expect(board.map(\.value) == Array(expected))
            let state = try GuildHistory(log: fixture.log).state(guild: guild, asOf: .offset(cut))
            #expect(state.people == model.guilds[guild]!.people)
        }
        await fixture.log.close()
    }

    @Test func auditRunningTotalsEndAtThePersonsBalance() async throws {
        let dir = TemporaryDirectory()
        var fixture = try LogFixture(dir.path + "/log")
        let simulator = try await fixture.simulate(15_000, guilds: 2, seed: 4)
        let guild = simulator.guilds[0]
        let history = GuildHistory(log: fixture.log)
        let state = try history.state(guild: guild)
        let linked = try #require(state.links.keys.sorted().first, "the simulation links someone")
        let entries = try history.audit(guild: guild, person: .discord(linked))
        let mine = entries.filter { $0.person == .discord(linked) }
        #expect(mine.last?.points == state.person(.discord(linked)).points)
        #expect(mine.last?.minutes == state.person(.discord(linked)).minutes)
        // Deltas add up to the totals, event by event; earnings from before the link are included.
        var points: Int64 = 0
        for e in mine {
            points += e.pointsDelta
            #expect(points == e.points)
        }
        #expect(
            entries.contains { $0.event == "chatter_earnings_merged" }
                || state.chatters.values.allSatisfy { $0.linkedUser != linked })
        await fixture.log.close()
    }

    @Test func raffleVerifyRecomputesDrawsAndCatchesAForgedWinner() async throws {
        let dir = TemporaryDirectory()
        var fixture = try LogFixture(dir.path + "/log")
        let simulator = try await fixture.simulate(30_000, guilds: 2, seed: 6)
        let history = GuildHistory(log: fixture.log)
        var verified = 0
        for guild in simulator.guilds {
            for (period, number) in try history.draws(guild: guild) {
                #expect(try history.verifyDraw(guild: guild, period: period, number: number).matches)
                verified += 1
            }
        }
        #expect(verified > 0, "the simulation should have drawn winners")
        // A draw appended with another winner than the seed implies is caught.
        let guild = simulator.guilds[0]
        let state = try history.state(guild: guild)
        let (period, number) = try history.draws(guild: guild).first!
        var forged = state.raffle.history[period]!.first { $0.number == number }!
        let someoneElse = state.people.keys.sorted().first { $0 != forged.winner }!
        forged.winner = someoneElse
        forged.number = 99
        _ = try await fixture.log.append([
            EventCodec.record(
                .raffleWinnerDrawn(forged), guild: guild, sequence: state.lastSequence + 1,
                timestamp: state.lastTimestamp, key: "forged")
        ])
        let v = try history.verifyDraw(guild: guild, period: period, number: 99)
        #expect(!v.matches)
        await fixture.log.close()
    }
}
