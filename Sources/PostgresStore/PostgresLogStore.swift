public import EventLog
public import Logging
import NIOCore
import PostgresNIO
public import ServiceLifecycle
import Synchronization

/// A ``EventLog/LogStore`` in PostgreSQL, for shards on many machines: one row per batch (the same
/// bytes as in a segment file) keyed by (partition, base offset), fenced by an epoch in a row per
/// partition, snapshots beside them.
///
/// It is a `Service`: ``run()`` runs the postgres-nio connection pool and the writers of the
/// partitions opened for writing, so it must be running (in the process's `ServiceGroup`, or a task
/// of a test) before anything else is called. Then call ``prepare(creatingWith:)`` once.
///
/// Fencing happens inside the database: ``openForWriting(partition:epoch:configuration:logger:)``
/// raises the partition's epoch (`UPDATE … SET epoch = GREATEST(epoch + 1, granted) … RETURNING`),
/// and every append inserts its batch in one statement that matches only while the epoch is
/// unchanged, holding the partition row `FOR SHARE` until it commits, so the raise waits for the
/// appends in flight and every later one sees it: an owner that lost the partition, on any
/// machine, can never append. The acquire then removes the batches after a gap (a failed append
/// among several in flight), which were never acknowledged.
public final class PostgresLogStore: LogStore, Service {
    public let configuration: PostgresStoreConfiguration
    let client: PostgresClient
    let logger: Logger
    private let jobs: AsyncStream<@Sendable () async -> Void>
    private let submit: AsyncStream<@Sendable () async -> Void>.Continuation
    private let count = Mutex<Int?>(nil)

    public init(configuration: PostgresStoreConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        client = PostgresClient(configuration: configuration.client, backgroundLogger: logger)
        (jobs, submit) = AsyncStream.makeStream()
    }

    /// A store on `url` whose schema and partition count were already checked by
    /// ``prepare(creatingWith:)`` of another instance (a server prepares the store once at start,
    /// then hands this one, which needs only ``run()``, to its `ServiceGroup`).
    public convenience init(url: String, preparedPartitionCount: Int, logger: Logger) throws {
        self.init(configuration: try PostgresStoreConfiguration(url: url), logger: logger)
        count.withLock { $0 = preparedPartitionCount }
    }

    /// Parses `url` (see ``PostgresStoreConfiguration/init(url:)``).
    public convenience init(url: String, logger: Logger) throws {
        self.init(configuration: try PostgresStoreConfiguration(url: url), logger: logger)
    }

    public var location: String { configuration.redacted }

    /// - Precondition: ``prepare(creatingWith:)`` returned.
    public var partitionCount: Int {
        guard let count = count.withLock({ $0 }) else {
            preconditionFailure("PostgresLogStore.prepare must run before the store is used")
        }
        return count
    }

    /// Runs the connection pool and the partition writers until graceful shutdown or cancellation.
    public func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.client.run() }
            await withGracefulShutdownHandler {
                for await job in jobs { group.addTask { await job() } }
            } onGracefulShutdown: {
                self.submit.finish()
            }
            group.cancelAll()
        }
    }

    /// Ends ``run()`` (for callers outside a `ServiceGroup`); close every log first.
    public func shutdown() { submit.finish() }

    /// Runs `body` with a store on `url` whose ``run()`` runs in a child task, prepared with
    /// `partitionCount` (nil: the store must hold Tally data already); shuts it down afterwards,
    /// also when `body` throws. For commands and tests; a server puts the store in its
    /// `ServiceGroup` instead.
    public static func withRunning<T: Sendable>(
        url: String, partitionCount: Int?, logger: Logger, _ body: (PostgresLogStore) async throws -> T
    ) async throws -> T {
        let store = try PostgresLogStore(url: url, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await store.run() }
            do {
                try await store.prepare(creatingWith: partitionCount)
                let result = try await body(store)
                store.shutdown()
                try await group.waitForAll()
                return result
            } catch {
                store.shutdown()
                group.cancelAll()
                throw error
            }
        }
    }

    /// Runs `job` as a child task of ``run()``.
    ///
    /// - Throws: ``EventLog/EventLogError`` `closed` once the store has shut down.
    func spawn(_ job: @escaping @Sendable () async -> Void) throws {
        if case .terminated = submit.yield(job) {
            throw EventLogError(.closed, "the store at \(location) has shut down")
        }
    }

    /// Creates or migrates the schema, then reads the partition count, setting it to `partitionCount`
    /// on first use.
    ///
    /// - Returns: the schema version found before migrating (0 for an empty database).
    /// - Throws: ``EventLog/EventLogError`` `invalidArgument` when the store holds another partition
    ///   count than the one asked for, `notFound` when it holds none and none was given,
    ///   `unsupportedFormat` for a newer schema, `io` when the database cannot be reached.
    @discardableResult
    public func prepare(creatingWith partitionCount: Int? = nil) async throws -> Int {
        try await probe()
        let previous = try await database("cannot migrate the store schema") {
            try await PostgresSchema.migrate(client, logger: logger)
        }
        if let partitionCount, partitionCount <= 0 || partitionCount > 65_536 {
            throw EventLogError(.invalidArgument, "partition count must be between 1 and 65536, not \(partitionCount)")
        }
        let stored: Int? = try await database("cannot read the store's partition count") {
            if let partitionCount {
                try await client.query(
                    """
                    INSERT INTO tally_meta (name, value) VALUES ('partition_count', \(String(partitionCount))),
                        ('partition_hash', 'splitmix64-mod')
                    ON CONFLICT (name) DO NOTHING
                    """, logger: logger)
            }
            var value: Int?
            for try await text in try await client.query(
                "SELECT value FROM tally_meta WHERE name = 'partition_count'", logger: logger
            ).decode(String.self) {
                value = Int(text)
            }
            return value
        }
        guard let stored else {
            throw EventLogError(.notFound, "the store at \(location) holds no Tally data yet (no partition count)")
        }
        if let partitionCount, partitionCount != stored {
            throw EventLogError(
                .invalidArgument,
                "the store at \(location) has \(stored) partitions; it cannot be reopened with \(partitionCount)")
        }
        count.withLock { $0 = stored }
        return previous
    }

    public func existingPartitions() async throws -> [PartitionID] {
        try await database("cannot list partitions") {
            var out: [PartitionID] = []
            for try await p in try await client.query(
                "SELECT partition FROM tally_partitions ORDER BY partition", logger: logger
            ).decode(Int32.self) {
                out.append(PartitionID(UInt32(p)))
            }
            return out
        }
    }

    public func openForWriting(
        partition: PartitionID, epoch: Epoch, configuration: PartitionLog.Configuration, logger: Logger
    ) async throws -> any PartitionLogHandle {
        try checkPartition(partition)
        guard epoch.rawValue <= UInt64(Int64.max) else {
            throw EventLogError(.invalidArgument, "epoch \(epoch) is out of range")
        }
        let p = Int32(partition.rawValue)
        let granted = Int64(epoch.rawValue)
        let lock = PostgresSchema.partitionLockClass
        let acquired = try await database("cannot acquire partition \(partition)") {
            try await client.withTransaction(logger: logger) { connection -> Acquired in
                try await connection.query(
                    "INSERT INTO tally_partitions (partition) VALUES (\(p)) ON CONFLICT (partition) DO NOTHING",
                    logger: logger)
                // Exclusive: waits for the appends in flight (each holds it shared until its commit)
                // and queues every later one behind this transaction.
                try await connection.query("SELECT pg_advisory_xact_lock(\(lock), \(p))", logger: logger)
                var raised: (Int64, Int64)?
                for try await row in try await connection.query(
                    """
                    UPDATE tally_partitions SET epoch = GREATEST(epoch + 1, \(granted)), acquired_at = now()
                    WHERE partition = \(p) RETURNING epoch, next_offset
                    """, logger: logger
                ).decode((Int64, Int64).self) {
                    raised = row
                }
                guard let (fenced, recorded) = raised else {
                    throw EventLogError(.io, "partition row vanished while acquiring")
                }
                // From here no append of an older epoch can commit: what the previous owner left is
                // final. Its acknowledged batches are contiguous from `next_offset`; whatever follows
                // the first gap was never acknowledged (acknowledgements go in offset order, and the
                // batch of the gap never committed), so it goes.
                let tail = try await Self.contiguousEnd(of: p, on: connection, logger: logger)
                var removed = 0
                for try await _ in try await connection.query(
                    "DELETE FROM tally_batches WHERE partition = \(p) AND base_offset >= \(tail) RETURNING base_offset",
                    logger: logger)
                {
                    removed += 1
                }
                try await connection.query(
                    "UPDATE tally_partitions SET next_offset = \(tail) WHERE partition = \(p)", logger: logger)
                return Acquired(epoch: fenced, recorded: recorded, tail: tail, removed: removed)
            }
        }
        let fenced = acquired.epoch
        if acquired.removed > 0 {
            logger.notice(
                "removed batches after a gap in the partition's log: they were never acknowledged",
                metadata: [
                    "partition": "\(partition)", "batches": "\(acquired.removed)", "log.end": "\(acquired.tail)",
                ])
        }
        let bounds = try await self.bounds(of: partition)
        guard bounds.end == Offset(UInt64(acquired.tail)), bounds.last == bounds.end else {
            throw EventLogError(
                .corruption,
                "partition \(partition)'s batches are contiguous up to \(acquired.tail) from its recorded end \(acquired.recorded), but end at \(bounds.last)",
                path: location)
        }
        let log = PostgresPartitionLog(
            store: self, partition: partition, epoch: Epoch(UInt64(fenced)), configuration: configuration,
            start: bounds.start, end: bounds.end, newestEpoch: bounds.newestEpoch, logger: logger)
        try spawn { await log.runWriter() }
        logger.info(
            "acquired partition in the store",
            metadata: [
                "partition": "\(partition)", "epoch": "\(fenced)", "epoch.granted": "\(epoch)",
                "log.end": "\(bounds.end)", "store": "\(location)",
            ])
        return log
    }

    public func openForReading(partition: PartitionID, logger: Logger) async throws -> any PartitionLogHandle {
        try checkPartition(partition)
        let exists = try await database("cannot open partition \(partition)") {
            var found = false
            for try await _ in try await client.query(
                "SELECT 1 FROM tally_partitions WHERE partition = \(Int32(partition.rawValue))", logger: logger)
            {
                found = true
            }
            return found
        }
        guard exists else { throw EventLogError(.notFound, "no partition \(partition) here", path: location) }
        let bounds = try await self.bounds(of: partition)
        return PostgresPartitionLog(
            store: self, partition: partition, epoch: nil, configuration: PartitionLog.Configuration(),
            start: bounds.start, end: bounds.end, newestEpoch: bounds.newestEpoch, logger: logger)
    }

    /// What an acquire found: the raised epoch, the end recorded before, the contiguous end and how
    /// many batches after a gap it removed.
    struct Acquired: Sendable {
        let epoch: Int64
        let recorded: Int64
        let tail: Int64
        let removed: Int
    }

    /// The walk from a partition's recorded `next_offset` along batches that start where the
    /// previous one ended; `SELECT max(e) FROM tail` is the contiguous end of its log. Each step is
    /// one lookup in the primary key, and the owner records `next_offset` every
    /// `PostgresPartitionLog.recordingInterval` batches, so the walk is short.
    static func tailWalk(_ p: Int32) -> String {
        """
        WITH RECURSIVE tail(e) AS (
            SELECT next_offset FROM tally_partitions WHERE partition = \(p)
            UNION ALL
            SELECT b.last_offset + 1 FROM tally_batches b JOIN tail ON b.partition = \(p) AND b.base_offset = tail.e
        )
        """
    }

    /// The contiguous end of a partition's log (see ``tailWalk(_:)``); 0 without a partition row.
    static func contiguousEnd(of p: Int32, on connection: PostgresConnection, logger: Logger) async throws -> Int64 {
        var end: Int64 = 0
        for try await value in try await connection.query(
            PostgresQuery(unsafeSQL: tailWalk(p) + "SELECT coalesce(max(e), 0) FROM tail"), logger: logger
        ).decode(Int64.self) {
            end = value
        }
        return end
    }

    /// A partition's first offset, the contiguous end of its log, the newest epoch of a batch below
    /// that end, and the end of its last batch (beyond a gap: never acknowledged, and removed by the
    /// next acquire).
    func bounds(of partition: PartitionID) async throws -> (
        start: Offset, end: Offset, newestEpoch: Epoch?, last: Offset
    ) {
        let p = Int32(partition.rawValue)
        return try await database("cannot read partition \(partition)") {
            var result: (start: Offset, end: Offset, newestEpoch: Epoch?, last: Offset) = (.zero, .zero, nil, .zero)
            for try await (first, last, end, newest) in try await client.query(
                PostgresQuery(
                    unsafeSQL: Self.tailWalk(p)
                        + """
                        SELECT coalesce(min(base_offset), 0), coalesce(max(last_offset) + 1, 0),
                            (SELECT coalesce(max(e), 0) FROM tail),
                            (SELECT epoch FROM tally_batches WHERE partition = \(p)
                                AND last_offset = (SELECT max(e) FROM tail) - 1)
                        FROM tally_batches WHERE partition = \(p)
                        """), logger: logger
            ).decode((Int64, Int64, Int64, Int64?).self) {
                result = (
                    Offset(UInt64(first)), Offset(UInt64(end)), newest.map { Epoch(UInt64($0)) }, Offset(UInt64(last))
                )
            }
            return result
        }
    }

    public func writeSnapshot(_ bytes: [UInt8], partition: PartitionID, offset: Offset, epoch: Epoch) async throws {
        try checkPartition(partition)
        let p = Int32(partition.rawValue)
        let (o, e) = (Int64(offset.rawValue), Int64(epoch.rawValue))
        let written = try await database("cannot write a snapshot of partition \(partition)") {
            try await client.withTransaction(logger: logger) { connection -> Bool in
                var owned = false
                for try await _ in try await connection.query(
                    "SELECT 1 FROM tally_partitions WHERE partition = \(p) AND epoch = \(e) FOR SHARE", logger: logger)
                {
                    owned = true
                }
                guard owned else { return false }
                try await connection.query(
                    """
                    INSERT INTO tally_snapshots (partition, next_offset, epoch, bytes)
                    VALUES (\(p), \(o), \(e), \(ByteBuffer(bytes: bytes)))
                    ON CONFLICT (partition, next_offset) DO UPDATE SET epoch = excluded.epoch, bytes = excluded.bytes,
                        created_at = now()
                    """, logger: logger)
                try await connection.query(
                    """
                    DELETE FROM tally_snapshots WHERE partition = \(p) AND next_offset < (
                        SELECT min(next_offset) FROM (
                            SELECT next_offset FROM tally_snapshots WHERE partition = \(p)
                            ORDER BY next_offset DESC LIMIT 2) AS newest)
                    """, logger: logger)
                return true
            }
        }
        guard written else {
            throw EventLogError(
                .staleEpoch, "epoch \(epoch) no longer owns partition \(partition); snapshot not written",
                path: location)
        }
    }

    public func snapshots(of partition: PartitionID) async throws -> [StoredSnapshot] {
        try await database("cannot read the snapshots of partition \(partition)") {
            var out: [StoredSnapshot] = []
            for try await (offset, bytes) in try await client.query(
                """
                SELECT next_offset, bytes FROM tally_snapshots WHERE partition = \(Int32(partition.rawValue))
                ORDER BY next_offset DESC
                """, logger: logger
            ).decode((Int64, ByteBuffer).self) {
                out.append(StoredSnapshot(offset: Offset(UInt64(offset)), bytes: Array(buffer: bytes)))
            }
            return out
        }
    }

    private func checkPartition(_ partition: PartitionID) throws {
        guard Int(partition.rawValue) < partitionCount else {
            throw EventLogError(
                .invalidArgument, "partition \(partition) is out of range: the store has \(partitionCount)")
        }
    }

    /// Connects once outside the pool: a store that cannot be reached (refused, unknown host, wrong
    /// password or database) is an error now, rather than a pool retrying in the background while
    /// the process waits with nothing to say.
    ///
    /// - Throws: ``EventLog/EventLogError`` `io` naming the store and the cause.
    private func probe() async throws {
        do {
            let connection = try await PostgresConnection.connect(
                configuration: try configuration.connection(), id: 0, logger: logger)
            try? await connection.close()
        } catch {
            throw EventLogError(.io, "cannot connect to the store at \(location)", underlying: PostgresFailure(error))
        }
    }

    /// Runs `body`, turning a database failure into ``EventLog/EventLogError`` `io` that says
    /// `what` could not be done (an ``EventLog/EventLogError`` passes through unchanged).
    @discardableResult
    func database<T>(_ what: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as EventLogError {
            throw error
        } catch {
            throw EventLogError(.io, "\(what) in the store at \(location)", underlying: PostgresFailure(error))
        }
    }
}

/// A database error as a cause, described by its SQLSTATE and server message when there is one
/// (postgres-nio's own description hides them).
struct PostgresFailure: Error, CustomStringConvertible {
    let error: any Error

    init(_ error: any Error) { self.error = error }

    var description: String {
        guard let psql = error as? PSQLError else { return "\(error)" }
        if let info = psql.serverInfo, let message = info[.message] {
            return "\(info[.sqlState] ?? "?") \(message)"
        }
        // A connection that failed before the server said anything: the network's cause.
        return "\(psql.code)" + (psql.underlying.map { " (\($0))" } ?? "")
    }
}
