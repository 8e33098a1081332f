import Coordinator
import Domain
import EventLog
import Foundation
import Logging
import TallyTesting
import Testing

@testable import Shard

@Suite struct LocalClusterTests {
    @Test func partitionsAreSpreadEvenlyAndEachGuildIsServedOnlyByItsOwner() async throws {
        let temporary = TemporaryDirectory()
        let dir = temporary.path
        let logger = testLogger
        let data = try DataDirectory.open(path: dir, creatingWith: 16)
        let store = try AssignmentStore(path: dir + "/coordinator.sqlite")
        let cluster = try LocalCluster(configuration: .init(data: data), shards: 3, store: store, logger: logger)
        let assignment = await cluster.assignment
        #expect(assignment.values.map(\.count).sorted() == [5, 5, 6])
        #expect(Set(assignment.values.flatMap { $0 }).count == 16)
        // Commands for many guilds: each lands on the node that owns its partition, and no node
        // acquires a partition it does not own.
        for i in 0..<40 {
            let guild = GuildID(UInt64(1_300_000_000_000 + i) << 22)
            let node = await cluster.node(for: guild)
            _ = try await node.handle(
                .adjustPoints(.discord(UserID(1 << 40)), delta: 1, reason: "r"), guild: guild,
                context: CommandContext(key: "k\(i)", time: Timestamp(milliseconds: 1_796_083_200_000)))
        }
        for (shard, owned) in assignment {
            let acquired = await cluster.nodes[shard]!.acquiredOwners().map { $0.partition }
            #expect(Set(acquired).isSubset(of: Set(owned)), "\(shard) acquired a partition it does not own")
        }
        await cluster.shutdown()
        // A restarted cluster reloads the assignment: nothing moves, no epoch changes.
        let before = await cluster.table
        let restarted = try LocalCluster(configuration: .init(data: data), shards: 3, store: store, logger: logger)
        #expect(await restarted.table.entries == before.entries)
    }

    @Test func concurrentFirstRequestsShareOneAcquisition() async throws {
        let temporary = TemporaryDirectory()
        let dir = temporary.path
        let logger = testLogger
        let node = ShardNode(
            configuration: .init(data: try DataDirectory.open(path: dir, creatingWith: 2)), logger: logger)
        let owners = try await withThrowingTaskGroup(of: PartitionOwner.self) { group in
            for _ in 0..<20 { group.addTask { try await node.owner(of: PartitionID(1)) } }
            var out: [PartitionOwner] = []
            for try await owner in group { out.append(owner) }
            return out
        }
        #expect(owners.count == 20)
        #expect(owners.allSatisfy { $0 === owners[0] }, "a partition was acquired twice")
        await node.shutdown()
    }
}
