import Domain
import EventLog
import Foundation
import Logging
import Simulation
import TallyTesting
import Testing

@testable import Shard

@Suite(.timeLimit(.minutes(2))) struct PartitionOwnerTests {

    static let guild = GuildID(1_234 << 22)
    static func context(_ key: String, _ seconds: Int64 = 0) -> CommandContext {
        CommandContext(key: key, time: Timestamp(milliseconds: 1_796_083_200_000 + seconds * 1000), actor: UserID(7))
    }

    @Test func aDuplicateIsAnsweredWithItsFirstEventsByOffsetAlsoAfterASnapshotRestore() async throws {
        let dir = TemporaryDirectory()
        let data = try DataDirectory.open(path: dir.path, creatingWith: 1)
        let owner = try await PartitionOwner.acquire(
            data: data, partition: PartitionID(0), epoch: Epoch(1), logger: testLogger)
        let person = PersonID.discord(UserID(99))
        let first = try await owner.handle(
            .adjustPoints(person, delta: 7, reason: "first"), guild: Self.guild, context: Self.context("the-key"))
        #expect(first.events.count == 1 && !first.duplicate)
        for i in 0..<300 {
            _ = try await owner.handle(
                .adjustPoints(person, delta: 1, reason: "later \(i)"), guild: Self.guild, context: Self.context("k\(i)")
            )
        }
        #expect(await owner.state(of: Self.guild)?.keys["the-key"]?.firstOffset == first.events[0].offset)
        let again = try await owner.handle(
            .adjustPoints(person, delta: 7, reason: "first"), guild: Self.guild, context: Self.context("the-key"))
        #expect(again.duplicate && again.events == first.events)
        // The remembered offset survives a snapshot and a new owner.
        try await owner.snapshot()
        await owner.release()
        let next = try await PartitionOwner.acquire(
            data: data, partition: PartitionID(0), epoch: Epoch(2), logger: testLogger)
        #expect(next.replayedEvents == 0, "restored from the snapshot")
        let afterRestore = try await next.handle(
            .adjustPoints(person, delta: 7, reason: "first"), guild: Self.guild, context: Self.context("the-key"))
        #expect(afterRestore.duplicate && afterRestore.events == first.events)
        await next.release()
    }

    @Test func concurrentCommandsAreDurableInDecisionOrderAndSurviveReacquire() async throws {
        let dir = TemporaryDirectory()
        let data = try DataDirectory.open(path: dir.path, creatingWith: 1)
        let owner = try await PartitionOwner.acquire(
            data: data, partition: PartitionID(0), epoch: Epoch(1), logger: testLogger)
        let person = PersonID.discord(UserID(99))
        // Many concurrent adjustments: each is decided on the state the previous ones left.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<200 {
                group.addTask {
                    _ = try await owner.handle(
                        .adjustPoints(person, delta: 1, reason: "r\(i)"), guild: Self.guild,
                        context: Self.context("k\(i)"))
                }
            }
            try await group.waitForAll()
        }
        #expect(await owner.state(of: Self.guild)?.person(person).points == 200)
        // Spending more than the balance is refused and changes nothing.
        await #expect(throws: Rejection.self) {
            _ = try await owner.handle(
                .spendPoints(person, amount: 201, reason: "x"), guild: Self.guild, context: Self.context("s"))
        }
        await owner.release()
        // A new owner (next epoch) replays the log to the same state; sequences are in order.
        let next = try await PartitionOwner.acquire(
            data: data, partition: PartitionID(0), epoch: Epoch(2), logger: testLogger)
        #expect(await next.state(of: Self.guild)?.person(person).points == 200)
        let log = try PartitionLog.openForReading(
            directory: data.directory(of: PartitionID(0)), partition: PartitionID(0), logger: testLogger)
        let sequences = try log.records(LogQuery()).map(\.record.sequence)
        #expect(sequences == Array(1...200))
        await next.release()
    }

    @Test func aRepeatedKeyReturnsTheFirstOutcomeWithoutAppending() async throws {
        let dir = TemporaryDirectory()
        let data = try DataDirectory.open(path: dir.path, creatingWith: 1)
        let owner = try await PartitionOwner.acquire(
            data: data, partition: PartitionID(0), epoch: Epoch(1), logger: testLogger)
        let first = try await owner.handle(
            .recordChatActivity(KickUserID(5), username: "five"), guild: Self.guild, context: Self.context("msg-1"))
        #expect(!first.duplicate && first.events.count == 1)
        let end = await owner.endOffset
        let again = try await owner.handle(
            .recordChatActivity(KickUserID(5), username: "five"), guild: Self.guild, context: Self.context("msg-1", 5))
        #expect(again.duplicate)
        #expect(again.events == first.events)
        #expect(await owner.endOffset == end)
        await owner.release()
        // Also after the partition changes hands.
        let next = try await PartitionOwner.acquire(
            data: data, partition: PartitionID(0), epoch: Epoch(2), logger: testLogger)
        let third = try await next.handle(
            .recordChatActivity(KickUserID(5), username: "five"), guild: Self.guild, context: Self.context("msg-1", 9))
        #expect(third.duplicate && third.events == first.events)
        await next.release()
    }

    @Test func aSecondOwnerAndAStaleEpochAreRefused() async throws {
        let dir = TemporaryDirectory()
        let data = try DataDirectory.open(path: dir.path, creatingWith: 1)
        let owner = try await PartitionOwner.acquire(
            data: data, partition: PartitionID(0), epoch: Epoch(3), logger: testLogger)
        await #expect(throws: EventLogError.self) {
            _ = try await PartitionOwner.acquire(
                data: data, partition: PartitionID(0), epoch: Epoch(4), logger: testLogger)
        }
        await owner.release()
        await #expect(throws: ShardError.self) {
            _ = try await owner.handle(.tick, guild: Self.guild, context: Self.context("t"))
        }
        await #expect {
            _ = try await PartitionOwner.acquire(
                data: data, partition: PartitionID(0), epoch: Epoch(2), logger: testLogger)
        } throws: { ($0 as? EventLogError)?.code == .staleEpoch }
    }

    @Test func acquireRestoresFromTheNewestSnapshotPlusTheLogTail() async throws {
        let dir = TemporaryDirectory()
        let data = try DataDirectory.open(path: dir.path, creatingWith: 1)
        var simulatorConfiguration = CommunitySimulator.Configuration()
        simulatorConfiguration.guilds = 3
        var simulator = CommunitySimulator(simulatorConfiguration)
        let owner = try await PartitionOwner.acquire(
            data: data, partition: PartitionID(0), epoch: Epoch(1), snapshotEvery: 1_000, logger: testLogger)
        for _ in 0..<5_000 {
            let step = simulator.next()
            _ = try? await owner.handle(step.command, guild: step.guild, context: step.context)
        }
        let live = await simulator.guilds.asyncMap { await owner.state(of: $0) }
        let end = await owner.endOffset
        #expect(end.rawValue > 3_000)
        // More events after the last snapshot, then a crash (no release): the tail is replayed.
        for _ in 0..<50 {
            let step = simulator.next()
            _ = try? await owner.handle(step.command, guild: step.guild, context: step.context)
        }
        let liveAfter = await simulator.guilds.asyncMap { await owner.state(of: $0) }
        let snapshots = try FileManager.default.contentsOfDirectory(
            atPath: data.directory(of: PartitionID(0)) + "/snapshots")
        #expect(!snapshots.isEmpty && snapshots.count <= 2)
        await owner.release()  // snapshots again
        _ = live
        let next = try await PartitionOwner.acquire(
            data: data, partition: PartitionID(0), epoch: Epoch(2), logger: testLogger)
        #expect(next.replayedEvents == 0, "release wrote a snapshot at the log's end")
        let restored = await simulator.guilds.asyncMap { await next.state(of: $0) }
        #expect(restored == liveAfter)
        await next.release()
        // A snapshot that is damaged is skipped: the log is replayed instead, to the same state.
        let directory = data.directory(of: PartitionID(0)) + "/snapshots"
        for name in try FileManager.default.contentsOfDirectory(atPath: directory) {
            let path = directory + "/" + name
            var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            bytes[bytes.count / 2] ^= 0xFF
            try bytes.write(to: URL(fileURLWithPath: path))
        }
        let third = try await PartitionOwner.acquire(
            data: data, partition: PartitionID(0), epoch: Epoch(3), logger: testLogger)
        #expect(third.replayedEvents == Int((await third.endOffset).rawValue))
        #expect(await simulator.guilds.asyncMap { await third.state(of: $0) } == liveAfter)
        await third.release()
    }
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async -> T) async -> [T] {
        var out: [T] = []
        for e in self { out.append(await transform(e)) }
        return out
    }
}
