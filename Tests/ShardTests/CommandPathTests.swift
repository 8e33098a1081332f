import Domain
import EventLog
import Foundation
import Logging
import TallyTesting
import Testing

@testable import Shard

/// The command path without hops back onto the owner: a command waits for durability off the
/// owner's actor, a batch is one append, a failed append still refuses everything after it, and a
/// node routes to a served partition without its actor.
@Suite(.timeLimit(.minutes(2))) struct CommandPathTests {
    static let guild = GuildID(1_234 << 22)
    static let person = PersonID.discord(UserID(99))
    static func context(_ key: String) -> CommandContext {
        CommandContext(key: key, time: Timestamp(milliseconds: 1_796_083_200_000), actor: UserID(7))
    }

    @Test func aBatchIsOneAppendAndEachCommandGetsItsOwnOutcome() async throws {
        let dir = TemporaryDirectory()
        let data = try DataDirectory.open(path: dir.path, creatingWith: 1)
        let owner = try await PartitionOwner.acquire(
            data: data, partition: PartitionID(0), epoch: Epoch(1), logger: testLogger)
        let commands: [(Command, CommandContext)] = [
            (.adjustPoints(Self.person, delta: 5, reason: "a"), Self.context("a")),
            (.spendPoints(Self.person, amount: 50, reason: "too much"), Self.context("b")),
            (.spendPoints(Self.person, amount: 3, reason: "fine"), Self.context("c")),
            (.adjustPoints(Self.person, delta: 5, reason: "a"), Self.context("a")),
        ]
        let results = try await owner.handleBatch(commands, guild: Self.guild)
        #expect(results.count == 4)
        #expect((try? results[0].get())?.events.map(\.offset) == [Offset(0)])
        #expect(throws: Rejection.self) { try results[1].get() }
        #expect((try? results[2].get())?.events.map(\.offset) == [Offset(1)])
        let duplicate = try results[3].get()
        let first = try results[0].get()
        #expect(duplicate.duplicate && duplicate.events == first.events)
        #expect(await owner.state(of: Self.guild)?.person(Self.person).points == 2)
        #expect(owner.fileLog?.statistics.batches == 1)
        await owner.release()
    }

    @Test func afterAFailedAppendEveryCommandIsRefusedUntilReacquired() async throws {
        let dir = TemporaryDirectory()
        let data = try DataDirectory.open(path: dir.path, creatingWith: 1)
        let owner = try await PartitionOwner.acquire(
            data: data, partition: PartitionID(0), epoch: Epoch(1), logger: testLogger)
        _ = try await owner.handle(
            .adjustPoints(Self.person, delta: 1, reason: "ok"), guild: Self.guild, context: Self.context("k0"))
        // The log goes away under the owner: the next append fails, and the memory is ahead of it.
        await owner.log.close()
        await #expect(throws: ShardError.self) {
            _ = try await owner.handle(
                .adjustPoints(Self.person, delta: 1, reason: "lost"), guild: Self.guild, context: Self.context("k1"))
        }
        do {
            _ = try await owner.handle(
                .adjustPoints(Self.person, delta: 1, reason: "after"), guild: Self.guild, context: Self.context("k2"))
            Issue.record("a command was taken after a failed append")
        } catch let error as ShardError {
            #expect(error.message.contains("failed append"))
        }
        await #expect(throws: ShardError.self) {
            _ = try await owner.handleBatch(
                [(.adjustPoints(Self.person, delta: 1, reason: "b"), Self.context("k3"))], guild: Self.guild)
        }
        // Reacquired, the partition holds only what was durable.
        let next = try await PartitionOwner.acquire(
            data: data, partition: PartitionID(0), epoch: Epoch(2), logger: testLogger)
        #expect(await next.state(of: Self.guild)?.person(Self.person).points == 1)
        await next.release()
    }

    @Test func aNodeServesConcurrentCommandsInOrderAndRefusesThemOnceReleased() async throws {
        let dir = TemporaryDirectory()
        let data = try DataDirectory.open(path: dir.path, creatingWith: 1)
        let node = ShardNode(configuration: .init(data: data), logger: testLogger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<300 {
                group.addTask {
                    _ = try await node.handle(
                        .adjustPoints(Self.person, delta: 1, reason: "r\(i)"), guild: Self.guild,
                        context: Self.context("k\(i)"))
                }
            }
            try await group.waitForAll()
        }
        let owner = try await node.owner(for: Self.guild)
        #expect(await owner.state(of: Self.guild)?.person(Self.person).points == 300)
        let log = try PartitionLog.openForReading(
            directory: data.directory(of: PartitionID(0)), partition: PartitionID(0), logger: testLogger)
        #expect(try log.records(LogQuery()).map(\.record.sequence) == Array(1...300))
        // Told to hold nothing, the node releases the partition and refuses its commands.
        _ = await node.apply(hold: [:])
        await #expect(throws: ShardError.self) {
            _ = try await node.handle(
                .adjustPoints(Self.person, delta: 1, reason: "late"), guild: Self.guild, context: Self.context("late"))
        }
    }
}
