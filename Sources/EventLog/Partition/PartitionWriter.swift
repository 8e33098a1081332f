import Foundation
import Logging

/// The single writer of one partition: a dedicated thread that gathers waiting appends into one batch
/// (group commit), writes it, fsyncs it, indexes it and only then acknowledges every append in it.
///
/// The thread keeps `write`/`fsync` off Swift's cooperative pool; appenders suspend on a continuation
/// until their batch is durable. While one batch is being fsynced, the next gathers.
final class PartitionWriter: @unchecked Sendable {
    struct Pending {
        let records: [Record]
        let bytes: Int
        let completion: @Sendable (Result<Range<Offset>, EventLogError>) -> Void
    }

    private let condition = NSCondition()
    // Guarded by `condition`:
    private var queue: [Pending] = []
    private var stopping = false
    private var stopped: [CheckedContinuation<Void, Never>] = []
    private var finished = false

    // Owned by the writer thread once it starts:
    private let directory: String
    private let partition: PartitionID
    private let epoch: Epoch
    private let configuration: PartitionLog.Configuration
    private let shared: PartitionState
    private let lock: PartitionLock
    private let logger: Logger
    private var segment: FileDescriptor
    private var index: FileDescriptor
    /// Where the active segment's batches end: the next batch is written here.
    private var segmentSize: Int64
    /// The active segment's file size: zeroes from `segmentSize` to here are reserved space.
    private var reservedEnd: Int64
    private var indexSize: Int64
    private var nextOffset: Offset
    private var encoder = BatchEncoder()
    private var indexBuffer = ByteWriter(capacity: 4096)
    private var unsyncedSince: ContinuousClock.Instant?
    /// Under `.always`, fsyncs written batches while the writer prepares the next ones.
    private let syncer = BatchSyncer()
    /// The durable recovery point; advanced by whichever thread just made batches durable.
    private let recoveryPoint: RecoveryPointWriter
    private let recoveryPointLock = NSLock()
    private var recoveryPointWritten = ContinuousClock.now

    init(
        directory: String, partition: PartitionID, epoch: Epoch, configuration: PartitionLog.Configuration,
        shared: PartitionState, lock: PartitionLock, recoveryPoint: RecoveryPoint?, logger: Logger
    ) throws {
        self.directory = directory
        self.partition = partition
        self.epoch = epoch
        self.configuration = configuration
        self.shared = shared
        self.lock = lock
        self.logger = logger
        let active = shared.values.withLock { $0.segments.last! }
        segment = try FileDescriptor(path: active.file.logPath, mode: .readWrite)
        index = try FileDescriptor(path: active.file.indexPath, mode: .createReadWrite)
        // Recovery leaves reserved zeroes after the last batch in place; the next batch goes over them.
        segmentSize = active.entries.last?.end ?? 0
        reservedEnd = try segment.size()
        indexSize = try index.size()
        if indexSize < SegmentIndexFile.headerSize {
            try SegmentIndexFile.write(active.entries, path: active.file.indexPath, baseOffset: active.file.baseOffset)
            indexSize = try index.size()
        }
        nextOffset = active.nextOffset
        // What recovery kept is valid, but a crashed writer may have left it in the page cache only:
        // make it durable, then record that it is.
        try segment.sync()
        self.recoveryPoint = try RecoveryPointWriter(directory: directory, current: recoveryPoint)
        try self.recoveryPoint.advance(to: nextOffset)
    }

    func start() {
        syncer.start(writer: self, name: "tally-sync-\(partition)")
        let thread = Thread { [self] in self.run() }
        thread.name = "tally-writer-\(partition)"
        thread.start()
    }

    /// Queues an append; its continuation resumes once the batch holding it is durable.
    func enqueue(_ pending: Pending) {
        condition.lock()
        if stopping {
            condition.unlock()
            pending.completion(.failure(EventLogError(.closed, "partition \(partition) is closed")))
            return
        }
        queue.append(pending)
        condition.signal()
        condition.unlock()
    }

    /// Stops accepting appends, finishes the queued ones, syncs, releases the lock, then returns.
    func stop() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            condition.lock()
            if finished {
                condition.unlock()
                continuation.resume()
                return
            }
            stopping = true
            stopped.append(continuation)
            condition.signal()
            condition.unlock()
        }
    }

    /// Asks the thread to stop without waiting (used when the log is dropped unclosed).
    func requestStop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    // MARK: The writer thread

    private func run() {
        while let group = nextGroup() {
            write(group)
        }
        syncer.stop()
        if shared.values.withLock({ $0.failure != nil }) {
            cutUnacknowledgedTail()
        } else {
            // A cleanly closed segment ends at its last batch; the next writer reserves again.
            try? dropReservedSpace()
        }
        if unsyncedSince != nil, (try? segment.sync()) != nil { unsyncedSince = nil }
        try? index.sync()
        if unsyncedSince == nil, shared.values.withLock({ $0.failure == nil }) {
            try? advanceRecoveryPoint(to: nextOffset, force: true)
        }
        recoveryPoint.close()
        segment.close()
        index.close()
        lock.release()
        condition.lock()
        finished = true
        let waiting = stopped
        stopped.removeAll()
        condition.unlock()
        for continuation in waiting { continuation.resume() }
    }

    /// Waits for appends and takes as many as fit in one batch; nil once stopping with nothing queued.
    private func nextGroup() -> [Pending]? {
        condition.lock()
        defer { condition.unlock() }
        while queue.isEmpty {
            if stopping { return nil }
            if let since = unsyncedSince, case .interval(let ms) = configuration.fsync.kind {
                let deadline = since.advanced(by: .milliseconds(ms))
                let remaining = ContinuousClock.now.duration(to: deadline)
                if remaining <= .zero {
                    condition.unlock()
                    syncForInterval()
                    condition.lock()
                    continue
                }
                let seconds = Double(remaining.components.seconds) + Double(remaining.components.attoseconds) / 1e18
                _ = condition.wait(until: Date(timeIntervalSinceNow: seconds))
            } else {
                condition.wait()
            }
        }
        var bytes = 0
        var count = 0
        for pending in queue {
            if count > 0 && bytes + pending.bytes > configuration.maxBatchBytes { break }
            bytes += pending.bytes
            count += 1
        }
        let group = Array(queue[..<count])
        queue.removeFirst(count)
        return group
    }

    /// A batch of at most this many records is fsynced by this thread itself when the syncer is idle.
    static let inlineSyncRecords: UInt32 = 16

    private func queueIsEmpty() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        return queue.isEmpty
    }

    /// The syncer's work for one batch, done on the writer thread while the syncer is idle (so
    /// batches are still acknowledged in offset order).
    private func syncInline(_ entry: IndexEntry, _ group: [Pending]) {
        do {
            try segment.sync()
        } catch {
            fail(error, pending: group)
            return
        }
        publish(entry, group)
        do { try advanceRecoveryPoint(to: entry.nextOffset) } catch { fail(error, pending: []) }
    }

    private func syncForInterval() {
        do {
            try segment.sync()
            unsyncedSince = nil
            try advanceRecoveryPoint(to: nextOffset)
        } catch {
            fail(error, pending: [])
        }
    }

    private func write(_ group: [Pending]) {
        if let failure = shared.values.withLock({ $0.failure }) {
            for pending in group { pending.completion(.failure(failure)) }
            return
        }
        let base = nextOffset
        let records = group.lazy.map(\.records).joined()
        let summary = encoder.encode(records, baseOffset: base, epoch: epoch, compress: configuration.compression)
        let pipelined = configuration.fsync.kind == .always
        do {
            if segmentSize > 0, segmentSize + Int64(encoder.batch.count) > configuration.segmentMaxBytes {
                // Every batch of the old segment must be durable and indexed before it is sealed.
                if pipelined { syncer.drain() }
                try roll()
            }
            reserve(through: segmentSize + Int64(encoder.batch.count))
            try segment.write(encoder.batch, at: segmentSize)
            if !pipelined, unsyncedSince == nil { unsyncedSince = .now }
        } catch {
            fail(error, pending: group)
            return
        }
        let entry = IndexEntry(summary: summary, position: segmentSize)
        segmentSize += Int64(encoder.batch.count)
        nextOffset = summary.header.nextOffset
        if pipelined, summary.header.recordCount <= PartitionWriter.inlineSyncRecords, queueIsEmpty(), syncer.isIdle() {
            // A small batch, nothing waiting to be written, nothing being synced: handing it to the
            // syncer thread would only add a thread wake-up (the next batch, if one comes, takes
            // microseconds to write), so this thread fsyncs it itself. Large batches keep the
            // pipeline: their encoding overlaps the previous fsync.
            syncInline(entry, group)
        } else if pipelined {
            // The syncer fsyncs and acknowledges it while this thread encodes and writes the next.
            syncer.enqueue(.init(entry: entry, group: group, file: segment))
        } else {
            publish(entry, group)
        }
    }

    /// What ``reserve(through:)`` writes, 1 MiB at a time (made once per process).
    private static let zeroes = [UInt8](repeating: 0, count: 1 << 20)

    /// Keeps zeroes reserved ahead of the batches: once a batch would end within half a step of the
    /// reserved end, writes `reserveBytes` more zeroes (never past `segmentMaxBytes` unless the batch
    /// goes there) and starts their writeback at once, so most batches overwrite space whose size and
    /// blocks are already durable and the `fdatasync` that makes the new size durable finds the zeroes
    /// mostly written. Reserving is an optimisation: if it fails (a nearly full disk), the batch is
    /// written anyway and extends the file itself.
    private func reserve(through end: Int64) {
        let step = configuration.reserveBytes
        guard step > 0, end > reservedEnd - step / 2 else { return }
        let target = min(max(end, reservedEnd + step), max(end, configuration.segmentMaxBytes))
        guard target > reservedEnd else { return }
        let start = reservedEnd
        do {
            try PartitionWriter.zeroes.withUnsafeBytes { raw in
                while reservedEnd < target {
                    let n = Int(min(Int64(raw.count), target - reservedEnd))
                    try segment.write(UnsafeRawBufferPointer(rebasing: raw[0..<n]), at: reservedEnd)
                    reservedEnd += Int64(n)
                }
            }
            segment.startWriteback(at: start, length: reservedEnd - start)
        } catch {
            reservedEnd = max(segmentSize, (try? segment.size()) ?? segmentSize)
            logger.debug(
                "cannot reserve segment space", metadata: ["partition": "\(partition)", "error": "\(error)"])
        }
    }

    /// Cuts the active segment back to its last batch; the caller's next `sync` makes that durable.
    private func dropReservedSpace() throws {
        guard reservedEnd > segmentSize else { return }
        try segment.truncate(to: segmentSize)
        reservedEnd = segmentSize
        if unsyncedSince == nil { unsyncedSince = .now }
    }

    /// Records `offset` as the durable recovery point, at most once per configured interval unless
    /// `force`. Every record below `offset` must be fsynced already.
    fileprivate func advanceRecoveryPoint(to offset: Offset, force: Bool = false) throws {
        recoveryPointLock.lock()
        defer { recoveryPointLock.unlock() }
        let now = ContinuousClock.now
        guard force || recoveryPointWritten.duration(to: now) >= configuration.recoveryPointInterval else { return }
        try recoveryPoint.advance(to: offset)
        recoveryPointWritten = now
    }

    /// Indexes a durable batch, makes it visible to readers and tails, and acknowledges its appends.
    /// Runs on the syncer thread under `.always`, on the writer thread otherwise; never both, since
    /// the writer drains the syncer before it touches the index itself.
    fileprivate func publish(_ entry: IndexEntry, _ group: [Pending]) {
        appendToIndex(entry)
        let waiters = shared.values.withLock { v in
            v.segments[v.segments.count - 1].entries.append(entry)
            v.endOffset = entry.nextOffset
            v.newestEpoch = epoch
            return PartitionState.takeWaiters(&v)
        }
        for waiter in waiters { waiter.resume() }
        var start = entry.baseOffset.rawValue
        for pending in group {
            let end = start + UInt64(pending.records.count)
            pending.completion(.success(Offset(start)..<Offset(end)))
            start = end
        }
    }

    /// A written batch fails to become durable: fail its appends and stop accepting more.
    fileprivate func failSync(_ error: any Error, _ groups: [[Pending]]) {
        fail(error, pending: groups.flatMap { $0 })
    }

    /// The index is derived data: a failure to write it is logged, and recovery rebuilds it.
    private func appendToIndex(_ entry: IndexEntry) {
        indexBuffer.bytes.removeAll(keepingCapacity: true)
        entry.encode(into: &indexBuffer)
        do {
            try index.write(indexBuffer.bytes, at: indexSize)
            indexSize += Int64(indexBuffer.count)
        } catch {
            logger.error(
                "cannot append to segment index", metadata: ["partition": "\(partition)", "error": "\(error)"])
        }
    }

    /// Seals the active segment and starts a new one at the next offset. Steps 1–4 of "Roll".
    private func roll() throws {
        // A sealed segment ends at its last batch.
        try dropReservedSpace()
        if unsyncedSince != nil {
            try segment.sync()
            unsyncedSince = nil
        }
        try index.sync()
        try advanceRecoveryPoint(to: nextOffset, force: true)
        let stem = SegmentFile.stem(nextOffset)
        let logPath = FileSystem.join(directory, stem + SegmentFile.logSuffix)
        let indexPath = FileSystem.join(directory, stem + SegmentFile.indexSuffix)
        let newSegment = try FileDescriptor(path: logPath, mode: .createReadWrite)
        try SegmentIndexFile.write([], path: indexPath, baseOffset: nextOffset)
        let newIndex = try FileDescriptor(path: indexPath, mode: .readWrite)
        try FileSystem.syncDirectory(directory)
        let file = try SegmentFile(directory: directory, baseOffset: nextOffset)
        segment.close()
        index.close()
        segment = newSegment
        index = newIndex
        segmentSize = 0
        reservedEnd = 0
        indexSize = Int64(SegmentIndexFile.headerSize)
        shared.values.withLock { $0.segments.append(PartitionState.Segment(file: file, entries: [])) }
        logger.info("rolled segment", metadata: ["partition": "\(partition)", "segment.base": "\(nextOffset)"])
    }

    /// Closing after a failure: cuts the active segment after its last acknowledged batch, so that
    /// the next owner never finds batches whose appends were refused. After a failed `fdatasync`
    /// the page cache may show bytes the disk lost, so recovery alone could keep an unacknowledged
    /// batch that reads back whole; cutting it here leaves only what was acknowledged.
    private func cutUnacknowledgedTail() {
        let kept = shared.values.withLock { $0.segments.last?.entries.last?.end ?? 0 }
        guard let size = try? segment.size(), size > kept else { return }
        do {
            try segment.truncate(to: kept)
            segmentSize = kept
            try segment.sync()
            logger.warning(
                "cut unacknowledged batches after a failed write",
                metadata: [
                    "partition": "\(partition)", "segment.path": "\(segment.path)", "segment.position": "\(kept)",
                    "bytes.dropped": "\(size - kept)",
                ])
        } catch {
            // Recovery on the next open still tells a torn tail from acknowledged data.
            logger.error(
                "cannot cut unacknowledged batches", metadata: ["partition": "\(partition)", "error": "\(error)"])
        }
    }

    /// After a failed write or fsync nothing about the file's tail can be trusted (a failed fsync may
    /// have dropped dirty pages): refuse every append until the partition is reopened and recovered.
    private func fail(_ cause: any Error, pending: [Pending]) {
        let error = cause as? EventLogError ?? EventLogError(.io, "write failed", underlying: cause)
        let failure = EventLogError(
            error.code, "partition \(partition) stopped accepting appends after a failed write; reopen it to recover",
            path: error.path, position: error.position, underlying: error)
        logger.critical("partition write failed", metadata: ["partition": "\(partition)", "error": "\(error)"])
        // Waiters for durability learn that what they wait for may never come.
        let waiters = shared.values.withLock { v in
            v.failure = failure
            return PartitionState.takeWaiters(&v)
        }
        for waiter in waiters { waiter.resume() }
        for p in pending { p.completion(.failure(failure)) }
    }
}

/// The second stage of the writer's pipeline under `FsyncPolicy.always`: the writer thread encodes,
/// compresses and writes batch N+1 while this thread fsyncs batch N. One `fdatasync` covers every
/// batch written before it started, so batches written during a sync share the next one. Appends
/// are acknowledged here, only after their batch is durable, in offset order.
final class BatchSyncer: @unchecked Sendable {
    struct Written {
        let entry: IndexEntry
        let group: [PartitionWriter.Pending]
        let file: FileDescriptor
    }

    /// Batches written but not yet durable, at most; the writer waits beyond this (backpressure).
    static let maxInFlight = 8

    private let condition = NSCondition()
    // Guarded by `condition`:
    private var queue: [Written] = []
    private var busy = false
    private var stopping = false
    private var finished = false
    /// Owned by the syncer thread.
    private var failure: (any Error)?

    func start(writer: PartitionWriter, name: String) {
        let thread = Thread { [self] in self.run(writer) }
        thread.name = name
        thread.start()
    }

    /// Hands a written batch over; blocks while too many are in flight.
    func enqueue(_ written: Written) {
        condition.lock()
        while queue.count >= BatchSyncer.maxInFlight { condition.wait() }
        queue.append(written)
        condition.broadcast()
        condition.unlock()
    }

    /// Whether no batch is queued or being synced; only the writer thread enqueues, so an idle
    /// syncer stays idle until it does.
    func isIdle() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        return queue.isEmpty && !busy
    }

    /// Returns once every handed-over batch is durable and published.
    func drain() {
        condition.lock()
        while !queue.isEmpty || busy { condition.wait() }
        condition.unlock()
    }

    /// Drains, then ends the thread.
    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
    }

    private func run(_ writer: PartitionWriter) {
        while true {
            condition.lock()
            while queue.isEmpty && !stopping { condition.wait() }
            if queue.isEmpty {
                finished = true
                condition.broadcast()
                condition.unlock()
                return
            }
            let items = queue
            queue.removeAll(keepingCapacity: true)
            busy = true
            condition.broadcast()
            condition.unlock()
            do {
                // After one failed fsync nothing written later can be trusted either.
                if let failure { throw failure }
                try items[items.count - 1].file.sync()
                for item in items { writer.publish(item.entry, item.group) }
            } catch {
                failure = error
                writer.failSync(error, items.map(\.group))
            }
            if failure == nil {
                // The batches are acknowledged already; a recovery point that cannot be written
                // stops further appends like a failed fsync would.
                do { try writer.advanceRecoveryPoint(to: items[items.count - 1].entry.nextOffset) } catch {
                    failure = error
                    writer.failSync(error, [])
                }
            }
            condition.lock()
            busy = false
            condition.broadcast()
            condition.unlock()
        }
    }
}
