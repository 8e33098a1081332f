import EventLog
import Logging
import NIOCore
import PostgresNIO
import Synchronization

/// One partition of a ``PostgresLogStore``, opened for writing (with the epoch the store raised) or
/// for reading.
///
/// The writer is a child task of the store's `run()`: it takes the queued appends (up to
/// `maxBatchBytes`), gives them the next offsets and commits them as one batch — the same header,
/// LZ4 body and checksum as a segment file holds — in one statement that inserts the batch row only
/// while the partition's epoch is still this owner's (checked under `FOR SHARE`, after the
/// partition's advisory lock taken shared). Up to ``PostgresStoreConfiguration/appendsInFlight``
/// batches are in flight at once, each on a connection of the pool, while the next gathers (group
/// commit). Batches are acknowledged strictly in offset order: one is acknowledged once it and every
/// batch before it committed. After a batch fails, no later batch is acknowledged, whatever became
/// of it, and the log refuses everything until the partition is acquired again; that acquire removes
/// whatever committed after the gap (see `PostgresLogStore.openForWriting`).
final class PostgresPartitionLog: PartitionLogHandle {
    struct Pending {
        let records: [Record]
        let bytes: Int
        let completion: @Sendable (Result<Range<Offset>, EventLogError>) -> Void
    }

    /// A batch given its offsets and handed to a commit task.
    struct Batch: Sendable {
        let id: Int
        let base: Offset
        let next: Offset
        let records: [Record]
    }

    /// What became of a batch's statement.
    enum Outcome {
        case committed
        case failed(EventLogError)
    }

    /// A batch whose appends wait for their answer, in offset order.
    struct InFlight {
        let id: Int
        let next: Offset
        let group: [Pending]
        var outcome: Outcome?
    }

    struct State {
        var queue: [Pending] = []
        /// The end of the acknowledged log.
        var end: Offset
        /// Where the next batch starts: `end` plus every batch in flight.
        var assigned: Offset
        var inFlight: [InFlight] = []
        var nextBatchID = 0
        /// Encoders not in use by a commit task.
        var encoders: [BatchEncoder] = []
        var start: Offset
        var newestEpoch: Epoch?
        /// Set when an append was refused or its outcome is unknown: nothing more is accepted.
        var failure: EventLogError?
        /// Set once a failed batch left the front of `inFlight`: no batch after it is acknowledged.
        var broken = false
        /// The end last recorded as the partition's `next_offset`, and whether a recording runs.
        var recorded: Offset
        var recording = false
        var closing = false
        var finished = false
        var closeWaiters: [CheckedContinuation<Void, Never>] = []
        /// Callers of `waitUntilDurable(below:)`, with the end each waits for.
        var durableWaiters: [(end: Offset, continuation: CheckedContinuation<Bool, Never>)] = []

        /// Removes and returns the waiters the current state answers: those whose end is durable
        /// (true), and every one once the log failed with nothing left in flight, or finished (false).
        mutating func settledWaiters() -> [(CheckedContinuation<Bool, Never>, Bool)] {
            let stopped = (failure != nil && inFlight.isEmpty) || finished
            var settled: [(CheckedContinuation<Bool, Never>, Bool)] = []
            durableWaiters.removeAll { waiter in
                if waiter.end <= end {
                    settled.append((waiter.continuation, true))
                    return true
                }
                if stopped {
                    settled.append((waiter.continuation, false))
                    return true
                }
                return false
            }
            return settled
        }

        /// Records `outcome` for batch `id`, then removes the batches at the front whose outcome is
        /// known: each committed one is acknowledged unless a failed one came before it.
        mutating func settle(
            _ id: Int, _ outcome: Outcome, epoch: Epoch, partition: PartitionID, location: String
        ) -> (acknowledged: [(Offset, [Pending])], failed: [([Pending], EventLogError)]) {
            guard let index = inFlight.firstIndex(where: { $0.id == id }) else { return ([], []) }
            inFlight[index].outcome = outcome
            if case .failed(let error) = outcome, failure == nil { failure = error }
            var acknowledged: [(Offset, [Pending])] = []
            var failed: [([Pending], EventLogError)] = []
            while let first = inFlight.first, let outcome = first.outcome {
                inFlight.removeFirst()
                switch outcome {
                case .committed where !broken:
                    acknowledged.append((end, first.group))
                    end = first.next
                    newestEpoch = epoch
                case .committed:
                    failed.append(
                        (
                            first.group,
                            EventLogError(
                                .io,
                                "partition \(partition): an earlier batch failed, so this one is not acknowledged; whether it stays is decided when the partition is acquired again",
                                path: location)
                        ))
                case .failed(let error):
                    broken = true
                    failed.append((first.group, error))
                }
            }
            return (acknowledged, failed)
        }
    }

    let partition: PartitionID
    let epoch: Epoch?
    private let store: PostgresLogStore
    private let configuration: PartitionLog.Configuration
    private let logger: Logger
    private let state: Mutex<State>
    private let wakes: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    init(
        store: PostgresLogStore, partition: PartitionID, epoch: Epoch?, configuration: PartitionLog.Configuration,
        start: Offset, end: Offset, newestEpoch: Epoch?, logger: Logger
    ) {
        self.store = store
        self.partition = partition
        self.epoch = epoch
        self.configuration = configuration
        self.logger = logger
        state = Mutex(State(end: end, assigned: end, start: start, newestEpoch: newestEpoch, recorded: end))
        (wakes, wake) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    var endOffset: Offset { state.withLock { $0.end } }
    var startOffset: Offset { state.withLock { $0.start } }
    var newestEpoch: Epoch? { state.withLock { $0.newestEpoch } }

    func enqueue(_ records: [Record], completion: @escaping @Sendable (Result<Range<Offset>, EventLogError>) -> Void) {
        guard epoch != nil else {
            return completion(.failure(EventLogError(.invalidArgument, "partition \(partition) was opened read-only")))
        }
        let bytes: Int
        switch PartitionLog.check(records, maxPayloadBytes: configuration.maxPayloadBytes) {
        case .success(let size): bytes = size
        case .failure(let error): return completion(.failure(error))
        }
        let refusal = state.withLock { s -> EventLogError? in
            if s.closing { return EventLogError(.closed, "partition \(partition) is closed") }
            if let failure = s.failure { return failure }
            s.queue.append(Pending(records: records, bytes: bytes, completion: completion))
            return nil
        }
        if let refusal { return completion(.failure(refusal)) }
        wake.yield()
    }

    func append(_ records: [Record]) async throws -> Range<Offset> {
        try await withCheckedThrowingContinuation { continuation in
            enqueue(records) { continuation.resume(with: $0) }
        }
    }

    func waitUntilDurable(below end: Offset) async -> Bool {
        await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let answer = state.withLock { s -> Bool? in
                if end <= s.end { return true }
                if (s.failure != nil && s.inFlight.isEmpty) || s.finished || epoch == nil || end == .zero {
                    return false
                }
                s.durableWaiters.append((end, continuation))
                return nil
            }
            if let answer { continuation.resume(returning: answer) }
        }
    }

    /// Answers the `waitUntilDurable(below:)` callers the state now settles.
    private func settleDurableWaiters() {
        for (waiter, answer) in state.withLock({ $0.settledWaiters() }) { waiter.resume(returning: answer) }
    }

    func close() async {
        guard epoch != nil else { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { s -> Bool in
                s.closing = true
                if s.finished { return true }
                s.closeWaiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
            wake.yield()
        }
    }

    // MARK: The writer

    /// Batches acknowledged since the partition's `next_offset` was last recorded after which the
    /// writer records it again, so that an acquire after a crash walks few rows to find the tail.
    static var recordingInterval: Int { 1024 }

    /// Commits queued appends, several batches in flight, until the log is closed and drained;
    /// then records the acknowledged end as the partition's `next_offset`.
    func runWriter() async {
        guard let epoch else { return }
        let limit = max(1, store.configuration.appendsInFlight)
        await withDiscardingTaskGroup { tasks in
            var sinceRecorded = 0
            for await _ in wakes {
                while let batch = nextBatch(limit: limit) {
                    tasks.addTask { await self.commit(batch, epoch: epoch) }
                    sinceRecorded += 1
                }
                if sinceRecorded >= Self.recordingInterval, let end = startRecording() {
                    sinceRecorded = 0
                    tasks.addTask { await self.record(end, epoch: epoch) }
                }
                if state.withLock({ $0.closing && $0.queue.isEmpty && $0.inFlight.isEmpty && !$0.recording }) {
                    break
                }
            }
        }
        if let end = startRecording() { await record(end, epoch: epoch) }
        let waiters = state.withLock { s in
            s.finished = true
            defer { s.closeWaiters.removeAll() }
            return s.closeWaiters
        }
        for waiter in waiters { waiter.resume() }
        settleDurableWaiters()
        logger.info("closed partition in the store", metadata: ["partition": "\(partition)", "epoch": "\(epoch)"])
    }

    /// Takes as many queued appends as fit in one batch and gives them the next offsets, when fewer
    /// than `limit` batches are in flight; nil when none is queued or no slot is free. After a
    /// failure, fails every queued append instead.
    private func nextBatch(limit: Int) -> Batch? {
        let (batch, failed, failure) = state.withLock { s -> (Batch?, [Pending], EventLogError?) in
            if let failure = s.failure {
                defer { s.queue.removeAll() }
                return (nil, s.queue, failure)
            }
            guard !s.queue.isEmpty, s.inFlight.count < limit else { return (nil, [], nil) }
            var bytes = 0
            var count = 0
            var records = 0
            for pending in s.queue {
                if count > 0 && bytes + pending.bytes > configuration.maxBatchBytes { break }
                bytes += pending.bytes
                records += pending.records.count
                count += 1
            }
            let group = Array(s.queue[..<count])
            s.queue.removeFirst(count)
            let base = s.assigned
            let next = Offset(base.rawValue + UInt64(records))
            s.assigned = next
            let id = s.nextBatchID
            s.nextBatchID += 1
            s.inFlight.append(InFlight(id: id, next: next, group: group))
            return (Batch(id: id, base: base, next: next, records: group.flatMap(\.records)), [], nil)
        }
        if let failure { for pending in failed { pending.completion(.failure(failure)) } }
        return batch
    }

    /// How long an append's statement may take before its outcome counts as unknown.
    static var appendDeadline: Duration { .seconds(5) }

    /// Encodes and commits one batch, then acknowledges or fails whatever its outcome settles.
    private func commit(_ batch: Batch, epoch: Epoch) async {
        let row: BatchRow
        do {
            var encoder = state.withLock { $0.encoders.popLast() } ?? BatchEncoder()
            let summary = encoder.encode(
                batch.records, baseOffset: batch.base, epoch: epoch, compress: configuration.compression)
            row = BatchRow(summary: summary, bytes: encoder.batch)
            state.withLock { $0.encoders.append(encoder) }
        }
        let outcome: Outcome
        do {
            outcome = try await insert(row, epoch: epoch) ? .committed : .failed(await refusal(epoch: epoch))
        } catch {
            // The commit may or may not have happened: nothing after it can be acknowledged, and
            // nothing more appended, until the partition is acquired again (which reads the truth).
            outcome = .failed(
                EventLogError(
                    .io,
                    "partition \(partition): the append's commit failed or its outcome is unknown; acquire the partition again",
                    path: store.location, underlying: PostgresFailure(error)))
        }
        let (acknowledged, failed) = state.withLock {
            $0.settle(batch.id, outcome, epoch: epoch, partition: partition, location: store.location)
        }
        settleDurableWaiters()
        for (base, group) in acknowledged {
            var start = base.rawValue
            for pending in group {
                let end = start + UInt64(pending.records.count)
                pending.completion(.success(Offset(start)..<Offset(end)))
                start = end
            }
        }
        for (group, error) in failed {
            logger.error(
                "append to the store refused",
                metadata: ["partition": "\(partition)", "error.code": "\(error.code)", "error": "\(error)"])
            for pending in group { pending.completion(.failure(error)) }
        }
        // A slot is free; after a failure, appends queued meanwhile are failed by `nextBatch`.
        wake.yield()
    }

    /// Inserts the batch row if the partition's epoch is still `epoch`; false when it is not.
    ///
    /// One statement, so one transaction and one round trip. The advisory lock (shared) queues it
    /// behind an acquire that waits for the partition's lock; `FOR SHARE` then holds the partition
    /// row until the commit, so an acquire's `UPDATE` of the epoch waits for this statement, and this
    /// statement, if it comes second, re-reads the row the acquire committed and matches nothing.
    private func insert(_ row: BatchRow, epoch: Epoch) async throws -> Bool {
        let store = self.store
        let logger = self.logger
        let p = Int32(partition.rawValue)
        let e = Int64(epoch.rawValue)
        let lock = PostgresSchema.partitionLockClass
        // Bounded: an append that never answers would stall the partition and its release.
        return try await withDeadline(Self.appendDeadline) {
            var inserted = false
            for try await _ in try await store.client.query(
                """
                WITH lock AS (SELECT pg_advisory_xact_lock_shared(\(lock), \(p))),
                fence AS (
                    SELECT partition FROM tally_partitions, lock WHERE partition = \(p) AND epoch = \(e)
                    FOR SHARE OF tally_partitions
                )
                INSERT INTO tally_batches (partition, base_offset, last_offset, record_count, epoch, min_time,
                    max_time, guilds, bloom_words, bloom_hashes, bytes)
                SELECT partition, \(row.baseOffset), \(row.lastOffset), \(row.recordCount), \(e), \(row.minTime),
                    \(row.maxTime), \(row.guilds), \(row.bloomWords), \(row.bloomHashes), \(row.bytes)
                FROM fence
                RETURNING base_offset
                """, logger: logger)
            {
                inserted = true
            }
            return inserted
        }
    }

    /// Why the database matched no row: another owner raised the epoch.
    private func refusal(epoch: Epoch) async -> EventLogError {
        var current: Int64?
        if let rows = try? await store.client.query(
            "SELECT epoch FROM tally_partitions WHERE partition = \(Int32(partition.rawValue))", logger: logger)
        {
            do { for try await row in rows.decode(Int64.self) { current = row } } catch {}
        }
        guard let storedEpoch = current else {
            return EventLogError(
                .io, "partition \(partition): the append was refused and the partition row cannot be read",
                path: store.location)
        }
        return EventLogError(
            .staleEpoch,
            "partition \(partition) was acquired with epoch \(storedEpoch); this owner's epoch \(epoch) may no longer append",
            path: store.location)
    }

    /// The acknowledged end to record as the partition's `next_offset`, if it moved since the last
    /// recording and nothing failed; marks a recording as running.
    private func startRecording() -> Offset? {
        state.withLock { s in
            guard s.failure == nil, !s.recording, s.end > s.recorded else { return nil }
            s.recording = true
            return s.end
        }
    }

    /// Records `end` (acknowledged, so every batch below it committed) as the partition's
    /// `next_offset`, where the next acquire starts looking for the log's contiguous tail. Under the
    /// partition's advisory lock taken exclusively (it waits for the appends in flight, and appends
    /// wait for it), and only while the epoch is still this owner's. A failure changes nothing but
    /// how far that acquire walks.
    private func record(_ end: Offset, epoch: Epoch) async {
        let p = Int32(partition.rawValue)
        let (e, n) = (Int64(epoch.rawValue), Int64(end.rawValue))
        let lock = PostgresSchema.partitionLockClass
        let store = self.store
        let logger = self.logger
        do {
            // Shorter than an append's: nothing waits for it but a close, and it only saves walking.
            try await withDeadline(.seconds(2)) {
                try await store.client.withTransaction(logger: logger) { connection in
                    try await connection.query("SELECT pg_advisory_xact_lock(\(lock), \(p))", logger: logger)
                    try await connection.query(
                        """
                        UPDATE tally_partitions SET next_offset = \(n)
                        WHERE partition = \(p) AND epoch = \(e) AND next_offset < \(n)
                        """, logger: logger)
                }
            }
            state.withLock { s in
                s.recorded = max(s.recorded, end)
                s.recording = false
            }
        } catch {
            state.withLock { $0.recording = false }
            logger.warning(
                "could not record the partition's end in the store",
                metadata: ["partition": "\(partition)", "error": "\(PostgresFailure(error))"])
        }
        wake.yield()
    }

    // MARK: Reading

    func readPage(_ query: LogQuery, maxBatches: Int) async throws -> LogPage {
        let end = query.to ?? (epoch == nil ? Offset(UInt64(Int64.max)) : endOffset)
        var statistics = ReadStatistics()
        guard query.from < end, query.limit > 0 else {
            return LogPage(records: [], next: query.from, isLast: true, statistics: statistics)
        }
        let p = Int32(partition.rawValue)
        let from = Int64(clamping: query.from.rawValue)
        let to = Int64(clamping: end.rawValue)
        let guild = query.guild.map { Int64(bitPattern: $0.rawValue) }
        let since = query.since?.rawValue
        let limit = Int32(clamping: max(1, maxBatches))
        // A reader beside the owner reads only the contiguous log, never past a gap an append in
        // flight left (what follows a gap was never acknowledged and goes at the next acquire); the
        // owner's own handle reads below its acknowledged end.
        let (walk, below) =
            epoch == nil
            ? (PostgresLogStore.tailWalk(p), "AND base_offset < (SELECT max(e) FROM tail)") : ("", "")
        let rows = try await store.database("cannot read partition \(partition)") {
            var rows: [(Int64, Int32, Int64, ByteBuffer)] = []
            for try await row in try await store.client.query(
                """
                \(unescaped: walk)
                SELECT base_offset, record_count, epoch, bytes FROM tally_batches
                WHERE partition = \(p) AND last_offset >= \(from) AND base_offset < \(to) \(unescaped: below)
                    AND (\(since)::bigint IS NULL OR max_time >= \(since))
                    AND (\(guild)::bigint IS NULL OR guilds IS NULL OR guilds @> ARRAY[\(guild)]::bigint[])
                ORDER BY base_offset LIMIT \(limit)
                """, logger: logger
            ).decode((Int64, Int32, Int64, ByteBuffer).self) {
                rows.append(row)
            }
            return rows
        }
        var records: [StoredRecord] = []
        var decoder = BatchDecoder()
        var next = query.from
        for (base, count, epoch, buffer) in rows {
            let bytes = Array(buffer: buffer)
            let header = try StoredBatch.decode(
                bytes, base: Offset(UInt64(base)), count: Int(count), epoch: Epoch(UInt64(epoch)),
                location: "\(store.location) partition \(partition)", decoder: &decoder
            ) { record in
                guard record.offset >= query.from, record.offset < end, records.count < query.limit else { return }
                if let guild = query.guild, record.guild != guild { return }
                if let since = query.since, record.timestamp < since { return }
                records.append(StoredRecord(record))
            }
            statistics.batchesRead += 1
            statistics.bytesRead += bytes.count
            next = header.nextOffset
            if records.count >= query.limit { break }
        }
        statistics.records = records.count
        let isLast = rows.count < Int(limit) || records.count >= query.limit || next >= end
        return LogPage(records: records, next: next, isLast: isLast, statistics: statistics)
    }
}
