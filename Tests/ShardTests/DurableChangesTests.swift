import Domain
import EventLog
import Foundation
import TallyTesting
import Testing

@testable import Shard

/// The per-partition broadcast overlay streams wait on: woken when their guild's events are durable,
/// never blocking the writer, holding at most one wake-up per watcher, and ended on release.
@Suite(.timeLimit(.minutes(2))) struct DurableChangesTests {
    static let guild = GuildID(1_234 << 22)
    static let other = GuildID(5_678 << 22)
    static func context(_ key: String) -> CommandContext {
        CommandContext(key: key, time: Timestamp(milliseconds: 1_796_083_200_000), actor: UserID(7))
    }

    @Test func aWatcherIsWokenOnlyByItsGuildsDurableEventsAndEndsOnRelease() async throws {
        let dir = TemporaryDirectory()
        let data = try DataDirectory.open(path: dir.path, creatingWith: 1)
        let owner = try await PartitionOwner.acquire(
            data: data, partition: PartitionID(0), epoch: Epoch(1), logger: testLogger)
        let person = PersonID.discord(UserID(99))
        _ = try await owner.handle(
            .adjustPoints(person, delta: 1, reason: "a"), guild: Self.guild, context: Self.context("a"))
        #expect(owner.changes.durableSequence(of: Self.guild) == 1)
        let watch = owner.changes.watch(Self.guild)
        #expect(owner.changes.watcherCount == 1)
        var wakes = watch.wakes.makeAsyncIterator()

        // Another guild's events wake nobody watching this one: a second watcher, finished after
        // them, ends with nothing buffered.
        let probe = owner.changes.watch(Self.guild)
        _ = try await owner.handle(
            .adjustPoints(person, delta: 1, reason: "b"), guild: Self.other, context: Self.context("b"))
        probe.wake.finish()
        var probeWakes = probe.wakes.makeAsyncIterator()
        #expect(await probeWakes.next() == nil)
        // This guild's do, once durable: the sequence is durable by the time the watcher looks.
        _ = try await owner.handle(
            .adjustPoints(person, delta: 1, reason: "c"), guild: Self.guild, context: Self.context("c"))
        #expect(await wakes.next() != nil)
        #expect(owner.changes.durableSequence(of: Self.guild) == 2)
        #expect(owner.changes.durableSequence(of: Self.other) == 1)

        // Released: the watcher's stream ends, and it is forgotten.
        await owner.release()
        #expect(await wakes.next() == nil)
        #expect(owner.changes.watcherCount == 0)
        // A watch after the release ends at once.
        var late = owner.changes.watch(Self.guild).wakes.makeAsyncIterator()
        #expect(await late.next() == nil)
    }

    @Test func aWatcherThatNeverReadsHoldsOneWakeUpAndDelaysNoOne() async throws {
        let changes = DurableChanges()
        let stuck = changes.watch(Self.guild)
        let reader = changes.watch(Self.guild)
        var readerWakes = reader.wakes.makeAsyncIterator()
        // 100,000 durable appends while one watcher never reads: each note returns at once.
        let started = ContinuousClock.now
        for sequence in 1...100_000 {
            changes.noteDurable([
                StoredEvent(
                    offset: Offset(UInt64(sequence - 1)), guild: Self.guild, sequence: UInt64(sequence),
                    timestamp: Timestamp(milliseconds: 0), key: nil, commandEvents: 1, origin: .unknown,
                    event: .pointsAdjusted(.discord(UserID(1)), delta: 1, reason: "", by: UserID(7)))
            ])
        }
        #expect(ContinuousClock.now - started < .seconds(20))
        #expect(changes.durableSequence(of: Self.guild) == 100_000)
        // The other watcher was not held up: it has its (one, coalesced) wake-up.
        #expect(await readerWakes.next() != nil)
        // The stuck one holds exactly one wake-up, not 100,000: after it, nothing until the next change.
        var stuckWakes = stuck.wakes.makeAsyncIterator()
        #expect(await stuckWakes.next() != nil)
        stuck.wake.finish()
        #expect(await stuckWakes.next() == nil)
        #expect(changes.watcherCount == 1)
        // Finished, a stream yields what it buffered before it ends: the reader also had one.
        reader.wake.finish()
        #expect(await readerWakes.next() == nil)
        #expect(changes.watcherCount == 0)
    }
}
