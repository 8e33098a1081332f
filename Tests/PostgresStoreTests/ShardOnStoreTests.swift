import Domain
import EventLog
import Foundation
import Partition
import Projections
import TallyTesting
import Testing

@testable import PostgresStore
@testable import Shard

/// Partition owners and read sides of a shard over the PostgreSQL store: fencing by the database,
/// snapshots in it, and read models caught up from a snapshot on a machine that never served the partition.
@Suite(.timeLimit(.minutes(3))) struct ShardOnStoreTests {
    static let guild = GuildID(1_234 << 22)
    static func context(_ key: String) -> CommandContext {
        CommandContext(key: key, time: Timestamp(milliseconds: 1_796_083_200_000), actor: UserID(7))
    }

    static let raffleGuild = GuildID(5_033_164_800_000_000_001)

    /// Runs `tally` to its end off the cooperative pool.
    static func tally(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        try await Task.detached { try TallyProcess.run(arguments, environment: ["TALLY_STORE": ""]) }.value
    }

    /// Opens, fills, closes and draws a raffle period in ``raffleGuild`` (beacon recorded).
    static func drawARaffle(on node: ShardNode) async throws {
        let seed = Array(repeating: UInt8(7), count: 32)
        var clock: Int64 = 1_796_083_200_000
        var n = 0
        func run(_ command: Command) async throws {
            n += 1
            clock += 1000
            _ = try await node.handle(
                command, guild: raffleGuild,
                context: CommandContext(key: "raffle\(n)", time: Timestamp(milliseconds: clock)))
        }
        try await run(
            .openRafflePeriod(
                startsAt: Timestamp(milliseconds: clock), endsAt: Timestamp(milliseconds: clock + 3_600_000),
                seedCommitment: RaffleDrawing.commitment(for: seed)))
        for id in 1...5 as ClosedRange<UInt64> {
            try await run(.grantTickets(.discord(UserID(id)), amount: Int64(id * 10), reason: "r"))
        }
        try await run(.closeRafflePeriod(seed: seed))
        let state = try #require(await node.owner(for: raffleGuild).state(of: raffleGuild))
        let round = try #require(state.raffle.periods[PeriodID(1)]?.beaconRound)
        clock = try #require(DrandChain.mainnet.time(of: round)).rawValue
        try await run(.recordBeacon(period: nil, round: round, value: (0..<32).map { UInt8($0) }))
        try await run(.drawRaffle(seed: nil, winners: 1))
    }

    @Test func aFencedOwnersCommandIsRefusedByTheDatabaseAndLeavesNothing() async throws {
        let url = try makeDatabase()
        let person = PersonID.discord(UserID(99))
        try await withStore(url: url, partitions: 1) { machineA in
            try await withStore(url: url, partitions: 1) { machineB in
                let old = try await PartitionOwner.acquire(
                    store: machineA, partition: PartitionID(0), epoch: Epoch(1), logger: testLogger)
                _ = try await old.handle(
                    .adjustPoints(person, delta: 5, reason: "a"), guild: Self.guild, context: Self.context("k1"))
                // Another machine takes the partition (a coordinator moved it while the old owner paused).
                let new = try await PartitionOwner.acquire(
                    store: machineB, partition: PartitionID(0), epoch: Epoch(1), logger: testLogger)
                #expect(new.epoch == Epoch(2), "the database raised the epoch past the old owner's")
                await #expect(throws: ShardError.self) {
                    _ = try await old.handle(
                        .adjustPoints(person, delta: 100, reason: "stale"), guild: Self.guild,
                        context: Self.context("k2"))
                }
                #expect(old.hasFailed)
                _ = try await new.handle(
                    .adjustPoints(person, delta: 1, reason: "b"), guild: Self.guild, context: Self.context("k3"))
                #expect(await new.state(of: Self.guild)?.person(person).points == 6)
                await old.release()  // writes no snapshot: its epoch no longer owns the partition
                await new.release()
                #expect(try await scalar(machineA, "SELECT count(*) FROM tally_batches WHERE epoch = 1") == 1)
                #expect(try await scalar(machineA, "SELECT count(*) FROM tally_batches WHERE epoch = 2") == 1)
                #expect(try await scalar(machineA, "SELECT count(*) FROM tally_snapshots WHERE epoch = 1") == 0)
                #expect(try await scalar(machineA, "SELECT count(*) FROM tally_snapshots WHERE epoch = 2") == 1)
            }
        }
    }

    @Test func aNodeWithAnEmptyDataDirectoryServesFromTheStoreAndCatchesUpFromTheSnapshot() async throws {
        let url = try makeDatabase()
        let first = TemporaryDirectory()
        let second = TemporaryDirectory()
        let people = (1...40).map { PersonID.discord(UserID($0)) }
        try await withStore(url: url, partitions: 2) { store in
            var configuration = ShardNode.Configuration(
                data: try DataDirectory.open(path: first.path, creatingWith: 2), store: store)
            configuration.snapshotEvery = 500
            let a = ShardNode(configuration: configuration, logger: testLogger)
            for i in 0..<1_200 {
                _ = try await a.handle(
                    .adjustPoints(people[i % people.count], delta: Int64(i % 7) + 1, reason: "r\(i)"),
                    guild: Self.guild, context: Self.context("k\(i)"))
            }
            try await Self.drawARaffle(on: a)
            let points = try #require(await a.owner(for: Self.guild).state(of: Self.guild)?.person(people[0]).points)
            let expected = try await a.readModels(for: Self.guild).leaderboard(.points, guild: Self.guild, limit: 50)
            await a.shutdown()  // releases: a last snapshot at the log's end

            // Nothing of the log is in the first node's data directory.
            #expect(try FileManager.default.contentsOfDirectory(atPath: first.path + "/partitions").isEmpty)

            var other = ShardNode.Configuration(
                data: try DataDirectory.open(path: second.path, creatingWith: 2), store: store)
            other.snapshotEvery = 500
            let b = ShardNode(configuration: other, logger: testLogger)
            let partition = other.data.partition(for: Self.guild)
            let owner = try await b.owner(of: partition)
            #expect(owner.replayedEvents == 0, "the owner restored from the snapshot in the store")
            let models = try await b.readModels(for: Self.guild)
            let side = try #require(await b.openedReadSide(of: partition))
            #expect(side.seededAt == owner.log.endOffset, "the read models started from the snapshot, not offset 0")
            let seeded = try models.leaderboard(.points, guild: Self.guild, limit: 50)
            #expect(seeded == expected, "\(seeded.prefix(5)) vs \(expected.prefix(5))")
            // …and follow the log from there.
            _ = try await b.handle(
                .adjustPoints(people[0], delta: 1_000, reason: "after"), guild: Self.guild, context: Self.context("z"))
            let after = try await b.readModels(for: Self.guild).leaderboard(.points, guild: Self.guild, limit: 1)
            #expect(after.first?.person == people[0].description)
            await b.shutdown()
            #expect(try FileManager.default.contentsOfDirectory(atPath: second.path + "/partitions").isEmpty)

            // The operator's commands read the same store.
            let audit = try await Self.tally([
                "audit", "--store", url, "--guild", "\(Self.guild.rawValue)", "--user", "discord:1",
            ])
            #expect(audit.status == 0, "\(audit.output)")
            #expect(audit.output.contains("# discord:1: \(points + 1_000) points"), "\(audit.output)")
            let verify = try await Self.tally([
                "raffle", "verify", "--store", url, "--guild", "\(Self.raffleGuild.rawValue)", "--draw", "1",
            ])
            #expect(verify.status == 0, "\(verify.output)")
            #expect(verify.output.contains("VERIFIED: the draw matches the log"), "\(verify.output)")
            // Read models seeded from the snapshot equal ones rebuilt from offset 0.
            let rebuild = try await Self.tally(["rebuild", second.path, "--store", url])
            #expect(rebuild.status == 0, "\(rebuild.output)")
            #expect(rebuild.output.contains("total: 0 people in 0 guilds changed"), "\(rebuild.output)")
            let nobody = try await Self.tally(["audit", "--store", url, "--guild", "1"])
            #expect(
                nobody.status == 0 && nobody.output.contains("no changes for anyone in guild 1"), "\(nobody.output)")
        }
    }
}
