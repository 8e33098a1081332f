import EventLog
import Logging
import PostgresNIO

/// The store's tables, created and migrated by Tally itself: each migration runs once, in order, in
/// one transaction holding an advisory lock, and records its version in `tally_schema_migrations`;
/// running them again changes nothing. A database migrated by a newer build is refused.
///
/// See the `PostgresStore` article in the EventLog documentation for every column.
enum PostgresSchema {
    /// The newest schema version this build knows.
    static var currentVersion: Int { migrations.count }

    /// The advisory lock key migrations hold (`'tally-schema'` as a 64-bit number).
    static let migrationLock: Int64 = 0x7461_6C6C_7973_6368

    /// The first key of the two-key advisory lock of a partition (`'TALY'`; the second key is the
    /// partition). Appends take it shared, in their statement, before they check the epoch under
    /// `FOR SHARE`; acquiring a partition and recording its contiguous end take it exclusively.
    /// PostgreSQL's row locks let a new `FOR SHARE` pass a waiting `UPDATE`, so without it a writer
    /// with appends always in flight could hold off an acquire indefinitely; the lock manager queues
    /// a shared request behind a waiting exclusive one.
    static let partitionLockClass: Int32 = 0x5441_4C59

    /// Migration `i + 1` is `migrations[i]`; statements run in order.
    static let migrations: [[String]] = [
        [
            """
            CREATE TABLE tally_meta (
                name text PRIMARY KEY,
                value text NOT NULL
            )
            """,
            """
            CREATE TABLE tally_partitions (
                partition integer PRIMARY KEY CHECK (partition >= 0),
                epoch bigint NOT NULL DEFAULT 0 CHECK (epoch >= 0),
                next_offset bigint NOT NULL DEFAULT 0 CHECK (next_offset >= 0),
                acquired_at timestamptz
            )
            """,
            """
            CREATE TABLE tally_batches (
                partition integer NOT NULL REFERENCES tally_partitions (partition),
                base_offset bigint NOT NULL CHECK (base_offset >= 0),
                last_offset bigint NOT NULL,
                record_count integer NOT NULL CHECK (record_count > 0),
                epoch bigint NOT NULL,
                min_time bigint NOT NULL,
                max_time bigint NOT NULL,
                guilds bigint[],
                bloom_words bigint[],
                bloom_hashes smallint,
                bytes bytea NOT NULL,
                PRIMARY KEY (partition, base_offset),
                CHECK (last_offset = base_offset + record_count - 1),
                CHECK ((guilds IS NULL) <> (bloom_words IS NULL))
            )
            """,
            "CREATE UNIQUE INDEX tally_batches_last_offset ON tally_batches (partition, last_offset)",
            "CREATE INDEX tally_batches_guilds ON tally_batches USING gin (guilds)",
            """
            CREATE TABLE tally_snapshots (
                partition integer NOT NULL REFERENCES tally_partitions (partition),
                next_offset bigint NOT NULL,
                epoch bigint NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                bytes bytea NOT NULL,
                PRIMARY KEY (partition, next_offset)
            )
            """,
        ],
        // 2: the coordinator's state (assignment, leases, shard registry) and its term, the fence
        // of every write a coordinator makes (see PostgresCoordinatorStore).
        [
            """
            CREATE TABLE tally_coordinator (
                id boolean PRIMARY KEY DEFAULT true CHECK (id),
                term bigint NOT NULL CHECK (term > 0),
                holder text NOT NULL,
                taken_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            """
            CREATE TABLE tally_assignment (
                partition integer PRIMARY KEY CHECK (partition >= 0),
                epoch bigint NOT NULL CHECK (epoch >= 0),
                owner text,
                moving_to text,
                CHECK (moving_to IS NULL OR owner IS NOT NULL)
            )
            """,
            """
            CREATE TABLE tally_shards (
                shard text PRIMARY KEY,
                url text NOT NULL,
                lease_expires_ms bigint
            )
            """,
        ],
        // 3: appends no longer advance `next_offset` (several are in flight per partition, fenced
        // by the epoch under `FOR SHARE`); it is the contiguous end of the log as the last acquire
        // found it, or as its owner last recorded it. A build that expects every append to advance
        // it must not open this database, hence a version of its own.
        [
            """
            COMMENT ON COLUMN tally_partitions.next_offset IS
                'contiguous end of the log found by the last acquire or recorded by its owner; rows at or past it are the current owner''s, and rows after a gap there were never acknowledged'
            """
        ],
        // 4: a batch's bytes are LZ4 already, so PostgreSQL's own compression of each value it
        // stores out of line (pglz) only spends the server's CPU: it was about half of it during
        // `tally bench log --store`'s appends. Stored out of line without compression (new rows).
        ["ALTER TABLE tally_batches ALTER COLUMN bytes SET STORAGE EXTERNAL"],
    ]

    /// Brings the schema to ``currentVersion`` and returns the version found before.
    ///
    /// - Throws: ``EventLog/EventLogError`` `unsupportedFormat` when the database is at a newer version.
    static func migrate(_ client: PostgresClient, logger: Logger) async throws -> Int {
        try await client.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(migrationLock))", logger: logger)
            try await connection.query(
                """
                CREATE TABLE IF NOT EXISTS tally_schema_migrations (
                    version integer PRIMARY KEY,
                    applied_at timestamptz NOT NULL DEFAULT now()
                )
                """, logger: logger)
            var found = 0
            for try await version in try await connection.query(
                "SELECT coalesce(max(version), 0)::integer FROM tally_schema_migrations", logger: logger
            ).decode(Int32.self) {
                found = Int(version)
            }
            guard found <= currentVersion else {
                throw EventLogError(
                    .unsupportedFormat,
                    "the database schema is at version \(found); this build knows up to \(currentVersion)")
            }
            for version in (found + 1)..<(currentVersion + 1) {
                for statement in migrations[version - 1] {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query(
                    "INSERT INTO tally_schema_migrations (version) VALUES (\(Int32(version)))", logger: logger)
                logger.info("migrated store schema", metadata: ["schema.version": "\(version)"])
            }
            return found
        }
    }
}
