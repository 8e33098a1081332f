public import Coordinator
import EventLog
import Logging
import PostgresNIO

/// The coordinator's state in PostgreSQL, shared by several coordinators of which one is active:
/// a row per partition (`tally_assignment`: epoch, owner, the shard it moves to), a row per shard
/// (`tally_shards`: URL and lease expiry), and the term row (`tally_coordinator`).
///
/// Fencing: a coordinator that takes over raises the term (``raiseTerm(holder:)``), and every
/// save first locks the term row `FOR SHARE` and checks that it still holds the saver's term.
/// Raising the term updates that row, so it waits for a save in flight to commit, and a save that
/// comes after it finds the new term and writes nothing (``Coordinator/CoordinatorError``
/// `deposed`): a coordinator that lost its place — paused, cut off, slow — can never overwrite the
/// state of the one that took over, and the one that took over loads every save that committed
/// before it.
///
/// It uses the pool of a ``PostgresLogStore`` (which must be running and prepared: its schema
/// migrations create these tables).
public final class PostgresCoordinatorStore: CoordinatorStateStore {
    let store: PostgresLogStore

    public init(store: PostgresLogStore) {
        self.store = store
    }

    var logger: Logger { store.logger }

    /// Takes over: raises the term past every earlier one (the first is 1) and records `holder`
    /// (a name for operators: which coordinator took over, and when, is in `tally_coordinator`).
    /// From its commit on, every earlier term's save is refused.
    ///
    /// - Throws: ``EventLog/EventLogError`` `io` when the database cannot be reached.
    public func raiseTerm(holder: String) async throws -> CoordinatorTerm {
        try await store.database("cannot raise the coordinator term") {
            var term: Int64 = 0
            for try await raised in try await store.client.query(
                """
                INSERT INTO tally_coordinator (id, term, holder) VALUES (true, 1, \(holder))
                ON CONFLICT (id) DO UPDATE SET term = tally_coordinator.term + 1, holder = excluded.holder,
                    taken_at = now()
                RETURNING term
                """, logger: logger
            ).decode(Int64.self) {
                term = raised
            }
            return CoordinatorTerm(UInt64(term))
        }
    }

    /// The saved state, or nil when no coordinator has saved any.
    ///
    /// - Throws: ``EventLog/EventLogError`` `io` when the database cannot be read, `corruption` when
    ///   a row names a partition outside the store's count.
    public func load(configuration: AssignmentTable.Configuration) async throws -> CoordinatorState? {
        let count = configuration.partitionCount
        var entries = Array(
            repeating: AssignmentTable.Entry(ownership: .unassigned, epoch: Epoch(0)), count: count)
        var leases: [ShardID: Int64] = [:]
        var urls: [ShardID: String] = [:]
        let rows = try await store.database("cannot read the coordinator state") {
            var rows = 0
            for try await (partition, epoch, owner, movingTo) in try await store.client.query(
                "SELECT partition, epoch, owner, moving_to FROM tally_assignment", logger: logger
            ).decode((Int32, Int64, String?, String?).self) {
                guard Int(partition) < count else {
                    throw EventLogError(
                        .corruption,
                        "the coordinator state names partition \(partition); the store has \(count)",
                        path: store.location)
                }
                let ownership: AssignmentTable.Ownership =
                    switch (owner, movingTo) {
                    case (let owner?, let to?): .releasing(from: ShardID(owner), to: ShardID(to))
                    case (let owner?, nil): .owned(ShardID(owner))
                    default: .unassigned
                    }
                entries[Int(partition)] = AssignmentTable.Entry(ownership: ownership, epoch: Epoch(UInt64(epoch)))
                rows += 1
            }
            for try await (shard, url, expiry) in try await store.client.query(
                "SELECT shard, url, lease_expires_ms FROM tally_shards", logger: logger
            ).decode((String, String, Int64?).self) {
                urls[ShardID(shard)] = url
                if let expiry { leases[ShardID(shard)] = expiry }
                rows += 1
            }
            return rows
        }
        guard rows > 0 else { return nil }
        return CoordinatorState(
            table: AssignmentTable(configuration: configuration, entries: entries, leases: leases), urls: urls)
    }

    /// Writes the partitions and shards that differ from `previous`, in one transaction that first
    /// checks `term` is still the coordinator's.
    ///
    /// - Throws: ``Coordinator/CoordinatorError`` `deposed` when a newer term took over (nothing is
    ///   written); ``EventLog/EventLogError`` `io` when the database cannot be written.
    public func save(_ state: CoordinatorState, replacing previous: CoordinatorState, term: CoordinatorTerm)
        async throws
    {
        let changes = Changes(state, replacing: previous)
        let current = try await store.database("cannot save the coordinator state") {
            try await store.client.withTransaction(logger: logger) { connection -> Bool in
                var current = false
                for try await _ in try await connection.query(
                    "SELECT 1 FROM tally_coordinator WHERE id AND term = \(Int64(term.rawValue)) FOR SHARE",
                    logger: logger)
                {
                    current = true
                }
                guard current else { return false }
                if !changes.partitions.isEmpty {
                    try await connection.query(
                        """
                        INSERT INTO tally_assignment (partition, epoch, owner, moving_to)
                        SELECT p, e, NULLIF(o, ''), NULLIF(m, '')
                        FROM unnest(\(changes.partitions)::integer[], \(changes.epochs)::bigint[],
                            \(changes.owners)::text[], \(changes.movingTo)::text[]) AS u(p, e, o, m)
                        ON CONFLICT (partition) DO UPDATE
                            SET epoch = excluded.epoch, owner = excluded.owner, moving_to = excluded.moving_to
                        """, logger: logger)
                }
                if !changes.shards.isEmpty {
                    try await connection.query(
                        """
                        INSERT INTO tally_shards (shard, url, lease_expires_ms)
                        SELECT s, u, CASE WHEN l THEN x END
                        FROM unnest(\(changes.shards)::text[], \(changes.urls)::text[], \(changes.live)::boolean[],
                            \(changes.expiries)::bigint[]) AS r(s, u, l, x)
                        ON CONFLICT (shard) DO UPDATE SET url = excluded.url, lease_expires_ms = excluded.lease_expires_ms
                        """, logger: logger)
                }
                if !changes.forgotten.isEmpty {
                    try await connection.query(
                        "DELETE FROM tally_shards WHERE shard = ANY(\(changes.forgotten)::text[])", logger: logger)
                }
                return true
            }
        }
        guard current else {
            throw CoordinatorError(
                .deposed, "coordinator term \(term) has been superseded: a newer coordinator took over")
        }
    }

    /// The rows a save writes, as the columns of `unnest`: the partitions and shards that differ.
    private struct Changes {
        var partitions: [Int32] = []
        var epochs: [Int64] = []
        /// Empty for none (`NULLIF`): a shard's name is never empty.
        var owners: [String] = []
        var movingTo: [String] = []
        var shards: [String] = []
        var urls: [String] = []
        var live: [Bool] = []
        var expiries: [Int64] = []
        var forgotten: [String] = []

        init(_ state: CoordinatorState, replacing previous: CoordinatorState) {
            for (i, entry) in state.table.entries.enumerated()
            where i >= previous.table.entries.count || previous.table.entries[i] != entry {
                partitions.append(Int32(i))
                epochs.append(Int64(entry.epoch.rawValue))
                switch entry.ownership {
                case .unassigned:
                    owners.append("")
                    movingTo.append("")
                case .owned(let owner):
                    owners.append(owner.rawValue)
                    movingTo.append("")
                case .releasing(let from, let to):
                    owners.append(from.rawValue)
                    movingTo.append(to.rawValue)
                }
            }
            let known = Set(state.urls.keys).union(state.table.leases.keys)
            for shard in known.sorted()
            where state.urls[shard] != previous.urls[shard] || state.table.leases[shard] != previous.table.leases[shard]
            {
                shards.append(shard.rawValue)
                urls.append(state.urls[shard] ?? "")
                live.append(state.table.leases[shard] != nil)
                expiries.append(state.table.leases[shard] ?? 0)
            }
            let before = Set(previous.urls.keys).union(previous.table.leases.keys)
            forgotten = before.subtracting(known).map(\.rawValue).sorted()
        }
    }
}
