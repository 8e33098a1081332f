import EventLog
import Logging
import NIOCore
import PostgresNIO
import Synchronization

/// One partition of a ``PostgresLogStore``, opened for writing (with the epoch the store raised) or
/// for reading.
///
/// The writer is a child task of the store's `run()`: it takes every queued append (up to
/// `maxBatchBytes`), encodes them as one batch — the same header, LZ4 body and checksum as a
/// segment file holds — and commits it in one statement that inserts the batch row and advances the
/// partition's next offset only if the epoch and the expected offset still match. Appends are
/// acknowledged after the commit; while one commit runs, the next batch gathers (group commit).
final class PostgresPartitionLog: PartitionLogHandle {
    struct Pending {
        let records: [Record]
        let bytes: Int
        let completion: @Sendable (Result<Range<Offset>, EventLogError>) -> Void
    }

    struct State {
        var queue: [Pending] = []
        var end: Offset
        var start: Offset
        var newestEpoch: Epoch?
        /// Set when an append was refused or its outcome is unknown: nothing more is accepted.
        var failure: EventLogError?
        var closing = false
        var finished = false
        var closeWaiters: [CheckedContinuation<Void, Never>] = []
        /// Callers of `waitUntilDurable(below:)`, with the end each waits for.
        var durableWaiters: [(end: Offset, continuation: CheckedContinuation<Bool, Never>)] = []

        /// Removes and returns the waiters the current state answers: those whose end is durable
        /// (true), and every one once the log failed or finished (false).
        mutating func settledWaiters() -> [(CheckedContinuation<Bool, Never>, Bool)] {
            let stopped = failure != nil || finished
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
        state = Mutex(State(end: end, start: start, newestEpoch: newestEpoch))
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
                if s.failure != nil || s.finished || epoch == nil || end == .zero { return false }
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

    /// Commits queued appends one batch at a time until the log is closed and drained.
    func runWriter() async {
        guard let epoch else { return }
        var encoder = BatchEncoder()
        for await _ in wakes {
            while let group = nextGroup() {
                await commit(group, epoch: epoch, encoder: &encoder)
            }
            if state.withLock({ $0.closing && $0.queue.isEmpty }) { break }
        }
        let waiters = state.withLock { s in
            s.finished = true
            defer { s.closeWaiters.removeAll() }
            return s.closeWaiters
        }
        for waiter in waiters { waiter.resume() }
        settleDurableWaiters()
        logger.info("closed partition in the store", metadata: ["partition": "\(partition)", "epoch": "\(epoch)"])
    }

    /// Takes as many queued appends as fit in one batch; nil when none is queued. After a failure,
    /// fails every queued append instead.
    private func nextGroup() -> [Pending]? {
        let (group, failed, failure) = state.withLock { s -> ([Pending], [Pending], EventLogError?) in
            if let failure = s.failure {
                defer { s.queue.removeAll() }
                return ([], s.queue, failure)
            }
            var bytes = 0
            var count = 0
            for pending in s.queue {
                if count > 0 && bytes + pending.bytes > configuration.maxBatchBytes { break }
                bytes += pending.bytes
                count += 1
            }
            defer { s.queue.removeFirst(count) }
            return (Array(s.queue[..<count]), [], nil)
        }
        if let failure { for pending in failed { pending.completion(.failure(failure)) } }
        return group.isEmpty ? nil : group
    }

    /// How long an append's statement may take before its outcome counts as unknown.
    static var appendDeadline: Duration { .seconds(5) }

    private func commit(_ group: [Pending], epoch: Epoch, encoder: inout BatchEncoder) async {
        let base = state.withLock { $0.end }
        let summary = encoder.encode(
            group.lazy.map(\.records).joined(), baseOffset: base, epoch: epoch, compress: configuration.compression)
        let row = BatchRow(summary: summary, bytes: encoder.batch)
        let p = Int32(partition.rawValue)
        let e = Int64(epoch.rawValue)
        let next = Int64(summary.header.nextOffset.rawValue)
        let result: Result<Bool, any Error>
        do {
            let store = self.store
            let logger = self.logger
            // Bounded: an append that never answers would stall the partition and its release.
            let inserted = try await withDeadline(Self.appendDeadline) {
                var inserted = false
                for try await _ in try await store.client.query(
                    """
                    WITH fence AS (
                        UPDATE tally_partitions SET next_offset = \(next)
                        WHERE partition = \(p) AND epoch = \(e) AND next_offset = \(row.baseOffset)
                        RETURNING partition
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
            result = .success(inserted)
        } catch {
            result = .failure(error)
        }
        switch result {
        case .success(true):
            state.withLock { s in
                s.end = summary.header.nextOffset
                s.newestEpoch = epoch
            }
            settleDurableWaiters()
            var start = base.rawValue
            for pending in group {
                let end = start + UInt64(pending.records.count)
                pending.completion(.success(Offset(start)..<Offset(end)))
                start = end
            }
        case .success(false):
            fail(group, with: await refusal(epoch: epoch, expected: base))
        case .failure(let error):
            // The commit may or may not have happened: nothing after it can be appended safely
            // until the partition is acquired again (which reads the truth from the database).
            fail(
                group,
                with: EventLogError(
                    .io,
                    "partition \(partition): the append's commit failed or its outcome is unknown; acquire the partition again",
                    path: store.location, underlying: PostgresFailure(error)))
        }
    }

    /// Why the database matched no row: another owner raised the epoch, or the offsets moved.
    private func refusal(epoch: Epoch, expected: Offset) async -> EventLogError {
        var current: (Int64, Int64)?
        if let rows = try? await store.client.query(
            "SELECT epoch, next_offset FROM tally_partitions WHERE partition = \(Int32(partition.rawValue))",
            logger: logger)
        {
            do { for try await row in rows.decode((Int64, Int64).self) { current = row } } catch {}
        }
        guard let (storedEpoch, next) = current else {
            return EventLogError(
                .io, "partition \(partition): the append was refused and the partition row cannot be read",
                path: store.location)
        }
        if storedEpoch != Int64(epoch.rawValue) {
            return EventLogError(
                .staleEpoch,
                "partition \(partition) was acquired with epoch \(storedEpoch); this owner's epoch \(epoch) may no longer append",
                path: store.location)
        }
        return EventLogError(
            .corruption,
            "partition \(partition)'s next offset is \(next) in the store, but this owner expected \(expected)",
            path: store.location)
    }

    private func fail(_ group: [Pending], with error: EventLogError) {
        logger.error(
            "append to the store refused",
            metadata: ["partition": "\(partition)", "error.code": "\(error.code)", "error": "\(error)"])
        state.withLock { s in if s.failure == nil { s.failure = error } }
        settleDurableWaiters()
        for pending in group { pending.completion(.failure(error)) }
        // Appends queued meanwhile are failed by the next `nextGroup()`.
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
        let rows = try await store.database("cannot read partition \(partition)") {
            var rows: [(Int64, Int32, Int64, ByteBuffer)] = []
            for try await row in try await store.client.query(
                """
                SELECT base_offset, record_count, epoch, bytes FROM tally_batches
                WHERE partition = \(p) AND last_offset >= \(from) AND base_offset < \(to)
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
