import Coordinator
import EventLog
import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import TallyTesting
import Testing

@testable import PostgresStore

/// The coordinator's state in a real PostgreSQL: saved and loaded as rows, fenced by the term, and
/// one coordinator active at a time by the advisory lock.
@Suite(.timeLimit(.minutes(3))) struct CoordinatorStoreTests {
    func configuration(_ partitions: Int = 4) -> AssignmentTable.Configuration {
        AssignmentTable.Configuration(partitionCount: partitions)
    }

    @Test func savesAndLoadsTheAssignmentLeasesAndRegistryAsRows() async throws {
        try await withStore(partitions: 6) { logStore, _ in
            let store = PostgresCoordinatorStore(store: logStore)
            #expect(try await store.load(configuration: configuration(6)) == nil)
            let term = try await store.raiseTerm(holder: "c1")
            var state = CoordinatorState(table: AssignmentTable(configuration: configuration(6)))
            for (shard, now) in [("a", Int64(0)), ("b", 10), ("c", 20)] {
                let before = state
                _ = state.table.heartbeat(ShardID(shard), now: now)
                state.urls[ShardID(shard)] = "http://127.0.0.1:90\(shard == "a" ? 1 : shard == "b" ? 2 : 3)"
                try await store.save(state, replacing: before, term: term)
            }
            // Partitions mid-handoff are kept as such; a lost shard stays registered without a lease.
            #expect(state.table.entries.contains { if case .releasing = $0.ownership { true } else { false } })
            let before = state
            _ = state.table.expireLeases(now: 5_005)
            try await store.save(state, replacing: before, term: term)
            let loaded = try await store.load(configuration: configuration(6))
            #expect(loaded == state)
            #expect(loaded?.table.leases[ShardID("a")] == nil && loaded?.urls[ShardID("a")] != nil)
            #expect(try await scalar(logStore, "SELECT count(*) FROM tally_assignment") == 6)
        }
    }

    @Test func aDeposedCoordinatorsWriteIsRefusedAndChangesNothing() async throws {
        try await withStore { logStore, url in
            // Two coordinators on two "machines" (two pools) sharing one database.
            try await withStore(url: url, partitions: nil) { otherLogStore in
                let first = PostgresCoordinatorStore(store: logStore)
                let second = PostgresCoordinatorStore(store: otherLogStore)
                let old = CoordinatorService(partitionCount: 4, sharing: first, logger: testLogger)
                let firstTerm = try await first.raiseTerm(holder: "old")
                try await old.activate(term: firstTerm, now: 0)
                _ = try await old.heartbeat(ShardID("a"), url: "http://127.0.0.1:9001", now: 0)
                let entries = await old.table.entries

                // The second takes over while the first is paused: it raises the term and loads.
                let new = CoordinatorService(partitionCount: 4, sharing: second, logger: testLogger)
                let secondTerm = try await second.raiseTerm(holder: "new")
                #expect(secondTerm > firstTerm)
                try await new.activate(term: secondTerm, now: 1_000)
                #expect(await new.table.entries == entries, "the takeover moved partitions")
                #expect(await new.table.leases[ShardID("a")] == 6_000)
                #expect(await new.urls[ShardID("a")] == "http://127.0.0.1:9001")

                // The first wakes up and writes: refused by the database, nothing written, and it stands by.
                let rows = try await dump(logStore)
                await #expect {
                    _ = try await old.heartbeat(ShardID("b"), url: "http://127.0.0.1:9002", now: 1_500)
                } throws: { ($0 as? CoordinatorError)?.code == .deposed }
                #expect(await !old.isActive)
                #expect(try await dump(logStore) == rows, "a deposed coordinator changed the state")
                // The store refuses the old term directly too.
                var forged = try #require(try await first.load(configuration: configuration()))
                let loaded = forged
                _ = forged.table.shardLeft(ShardID("a"))
                await #expect {
                    try await first.save(forged, replacing: loaded, term: firstTerm)
                } throws: { ($0 as? CoordinatorError)?.code == .deposed }
                #expect(try await dump(logStore) == rows)
                // The active one's writes go through.
                _ = try await new.heartbeat(ShardID("b"), url: "http://127.0.0.1:9002", now: 2_000)
                #expect(try await scalar(logStore, "SELECT count(*) FROM tally_shards") == 2)
            }
        }
    }

    @Test func aStandbyTakesOverWhenTheActiveCoordinatorsConnectionDrops() async throws {
        try await withStore { logStore, url in
            try await withStore(url: url, partitions: nil) { otherLogStore in
                let services = [
                    CoordinatorService(
                        partitionCount: 4, sharing: PostgresCoordinatorStore(store: logStore), logger: testLogger),
                    CoordinatorService(
                        partitionCount: 4, sharing: PostgresCoordinatorStore(store: otherLogStore), logger: testLogger),
                ]
                let elections = [
                    PostgresCoordinatorElection(
                        store: PostgresCoordinatorStore(store: logStore), service: services[0], holder: "one",
                        logger: testLogger),
                    PostgresCoordinatorElection(
                        store: PostgresCoordinatorStore(store: otherLogStore), service: services[1], holder: "two",
                        logger: testLogger),
                ]
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for election in elections { group.addTask { try await election.run() } }
                    defer { group.cancelAll() }
                    // Exactly one becomes active.
                    var active: Int?
                    for _ in 0..<100 where active == nil {
                        try await Task.sleep(for: .milliseconds(50))
                        for (i, s) in services.enumerated() { if await s.isActive { active = i } }
                    }
                    let first = try #require(active, "no coordinator became active")
                    let other = 1 - first
                    _ = try await services[first].heartbeat(ShardID("a"), url: "http://127.0.0.1:9001", now: 0)
                    try await Task.sleep(for: .milliseconds(600))
                    #expect(await !services[other].isActive, "two coordinators are active")
                    let firstTerm = try #require(await services[first].term)

                    // The active one's lock connection drops (as when its process dies).
                    let started = ContinuousClock.now
                    let killed = try await scalar(
                        logStore,
                        """
                        SELECT count(pg_terminate_backend(pid)) FROM pg_locks WHERE locktype = 'advisory' AND granted
                            AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
                        """)
                    #expect(killed == 1)
                    var tookOver: Duration?
                    for _ in 0..<100 where tookOver == nil {
                        try await Task.sleep(for: .milliseconds(20))
                        if await services[other].isActive { tookOver = started.duration(to: .now) }
                    }
                    let takeover = try #require(tookOver, "the standby never took over")
                    print("coordinator takeover after its lock's connection dropped: \(takeover)")
                    #expect(takeover < .seconds(5))
                    #expect(try #require(await services[other].term) > firstTerm)
                    // The one that lost its connection stands by (it may win the lock back only after the other dies).
                    for _ in 0..<50 {
                        guard await services[first].isActive else { break }
                        try await Task.sleep(for: .milliseconds(20))
                    }
                    #expect(await !services[first].isActive, "the coordinator that lost its lock still acts")
                    #expect(await services[other].table.leases[ShardID("a")] != nil)
                }
            }
        }
    }

    /// Every row of the coordinator's tables, as text.
    func dump(_ store: PostgresLogStore) async throws -> [String] {
        var rows: [String] = []
        for try await line in try await store.client.query(
            """
            SELECT format('%s %s %s %s', partition, epoch, owner, moving_to) FROM tally_assignment
            UNION ALL SELECT format('%s %s %s', shard, url, lease_expires_ms) FROM tally_shards
            UNION ALL SELECT format('term %s', term) FROM tally_coordinator
            """
        ).decode(String.self) {
            rows.append(line)
        }
        return rows.sorted()
    }
}
