import EventLog
import Foundation
import Testing

@testable import Coordinator

@Suite struct AssignmentTableTests {
    /// Carries out actions the way the coordinator does: acquisitions take effect, releases are
    /// reported back at once (the owner finished its in-flight work).
    struct Cluster {
        var table: AssignmentTable
        var now: Int64 = 0
        var moves = 0
        var acquired: [(PartitionID, ShardID, Epoch)] = []

        init(partitions: Int, maxMoves: Int = 1000) {
            var configuration = AssignmentTable.Configuration(partitionCount: partitions)
            configuration.maxMovesPerRound = maxMoves
            table = AssignmentTable(configuration: configuration)
        }

        mutating func run(_ actions: [AssignmentTable.Action]) {
            var queue = actions
            while !queue.isEmpty {
                let action = queue.removeFirst()
                switch action {
                case .acquire(let p, let s, let e): acquired.append((p, s, e))
                case .release(let p, let s):
                    moves += 1
                    queue += table.released(p, by: s, now: now)
                }
            }
        }

        mutating func heartbeat(_ shards: [String]) {
            for s in shards { run(table.heartbeat(ShardID(s), now: now)) }
        }

        mutating func pass(_ ms: Int64, alive: [String]) {
            now += ms
            heartbeat(alive)
            run(table.expireLeases(now: now))
        }

        var owners: [ShardID?] {
            (0..<table.configuration.partitionCount).map { table.owner(of: PartitionID(UInt32($0))) }
        }
        var counts: [ShardID: Int] { Dictionary(grouping: owners.compactMap { $0 }, by: { $0 }).mapValues(\.count) }
    }

    @Test func theFirstShardTakesEveryPartitionAndJoinersTakeAboutPOverNEvenlyFromTheOthers() {
        var c = Cluster(partitions: 64)
        c.heartbeat(["a"])
        #expect(c.counts == [ShardID("a"): 64])
        #expect(c.moves == 0)
        for (n, joiner) in ["b", "c", "d"].enumerated() {
            let before = c.owners
            let movesBefore = c.moves
            c.heartbeat(Array(["a", "b", "c", "d"].prefix(n + 2)))
            let shards = n + 2
            let moved = c.moves - movesBefore
            #expect(moved <= (64 + shards - 1) / shards, "\(joiner) joining moved \(moved)")
            #expect(c.counts.values.max()! - c.counts.values.min()! <= 1, "\(c.counts)")
            // Every partition that changed owner went to the joiner.
            for (old, new) in zip(before, c.owners) where old != new { #expect(new == ShardID(joiner)) }
        }
    }

    @Test func aLostShardsPartitionsSpreadOverSurvivorsAndNothingElseMoves() {
        var c = Cluster(partitions: 60)
        c.heartbeat(["a", "b", "c"])
        let before = c.owners
        let epochs = c.table.entries.map(\.epoch)
        c.pass(3_000, alive: ["a", "c"])
        c.pass(3_000, alive: ["a", "c"])  // b's lease (5 s) has expired
        #expect(c.counts[ShardID("b")] == nil)
        #expect(c.counts.values.max()! - c.counts.values.min()! <= 1)
        for i in 0..<60 {
            if before[i] == ShardID("b") {
                #expect(
                    c.owners[i] != nil && c.table.entries[i].epoch > epochs[i],
                    "partition \(i) needs a new owner and epoch")
            } else {
                #expect(c.owners[i] == before[i], "partition \(i) of a survivor moved")
                #expect(c.table.entries[i].epoch == epochs[i])
            }
        }
    }

    @Test func allButOneLostLeavesEverythingWithTheSurvivor() {
        var c = Cluster(partitions: 16)
        c.heartbeat(["a", "b", "c", "d"])
        c.pass(6_000, alive: ["c"])
        #expect(c.counts == [ShardID("c"): 16])
        c.pass(6_000, alive: [])
        #expect(c.table.leases.isEmpty)
        #expect(
            c.owners.allSatisfy { $0 == ShardID("c") },
            "with no live shard nothing is reassigned (no one to give it to)")
        c.heartbeat(["c"])
        #expect(c.counts == [ShardID("c"): 16])
    }

    @Test func aFlappingShardCausesBoundedMovesAndEpochsAlwaysRise() {
        var c = Cluster(partitions: 32)
        c.heartbeat(["a", "b"])
        var lastEpochs = c.table.entries.map(\.epoch)
        for _ in 0..<10 {
            let movesBefore = c.moves
            c.heartbeat(["a", "b", "flappy"])  // joins
            #expect(c.moves - movesBefore <= (32 + 2) / 3)
            c.pass(6_000, alive: ["a", "b"])  // lost
            #expect(c.counts[ShardID("flappy")] == nil)
            #expect(c.counts.values.reduce(0, +) == 32)
            let epochs = c.table.entries.map(\.epoch)
            #expect(zip(epochs, lastEpochs).allSatisfy { $0 >= $1 })
            lastEpochs = epochs
        }
        // Every grant of a partition had a higher epoch than the one before.
        var seen: [PartitionID: Epoch] = [:]
        for (p, _, e) in c.acquired {
            if let previous = seen[p] { #expect(e > previous) }
            seen[p] = e
        }
    }

    @Test func movesPerRoundAreCapped() {
        var c = Cluster(partitions: 64, maxMoves: 4)
        c.heartbeat(["a"])
        let actions = c.table.heartbeat(ShardID("b"), now: c.now)
        #expect(actions.filter { if case .release = $0 { true } else { false } }.count == 4)
        c.run(actions)
        for _ in 0..<20 { c.heartbeat(["a", "b"]) }
        #expect(c.counts == [ShardID("a"): 32, ShardID("b"): 32])
    }

    @Test func aRestartedCoordinatorMovesNothing() throws {
        var c = Cluster(partitions: 24)
        c.heartbeat(["a", "b", "c"])
        let saved = try JSONEncoder().encode(c.table)
        var restored = try JSONDecoder().decode(AssignmentTable.self, from: saved)
        #expect(restored == c.table)
        var actions: [AssignmentTable.Action] = []
        for s in ["a", "b", "c"] { actions += restored.heartbeat(ShardID(s), now: c.now + 1_000) }
        #expect(actions.isEmpty)
    }

    @Test func aTakeoverRenewsEveryLiveLeaseAndMovesNothing() {
        var c = Cluster(partitions: 12)
        for s in ["a", "b", "c"] { c.run(c.table.heartbeat(ShardID(s), now: 0)) }
        let entries = c.table.entries
        // The previous coordinator died; the new one takes over when every saved lease has run out.
        var table = c.table
        table.renewAllLeases(now: 9_000)
        #expect(Set(table.leases.values) == [9_000 + table.configuration.leaseMilliseconds])
        // Up to a lease later nothing expires and nothing moves; the shards heartbeat in that time.
        #expect(table.expireLeases(now: 9_000 + table.configuration.leaseMilliseconds - 1).isEmpty)
        #expect(table.entries == entries)
        // A shard that never comes back expires one lease after the takeover, and only its partitions move.
        _ = table.heartbeat(ShardID("a"), now: 13_000)
        _ = table.heartbeat(ShardID("b"), now: 13_000)
        let actions = table.expireLeases(now: 14_000)
        let lost = entries.indices.filter { entries[$0].ownership == .owned(ShardID("c")) }
        #expect(
            Set(actions.compactMap { if case .acquire(let p, _, _) = $0 { Int(p.rawValue) } else { nil } }) == Set(lost)
        )
        // A lease ending after the takeover's is kept.
        var later = c.table
        _ = later.heartbeat(ShardID("a"), now: 20_000)
        later.renewAllLeases(now: 9_000)
        #expect(later.leases[ShardID("a")] == 20_000 + later.configuration.leaseMilliseconds)
    }
}
