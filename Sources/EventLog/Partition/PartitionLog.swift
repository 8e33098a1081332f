public import Logging

/// The append-only log of one partition: durable group-committed appends, recovery on open, and
/// reads by offset, time and guild.
///
/// Open it for writing with ``openForWriting(directory:partition:epoch:configuration:logger:)`` (one
/// writer per partition, enforced by an OS lock and by epochs) or for reading with
/// ``openForReading(directory:partition:logger:)`` (any number, alongside a writer).
///
/// Appends are `async` and return once their batch is durable. Reads are synchronous and block on
/// file I/O: call them from a thread of your own or through ``tail(from:)``, which runs its reads on
/// a dedicated pool. See the Concurrency article.
public final class PartitionLog: Sendable {
    /// Knobs of a partition log.
    public struct Configuration: Sendable {
        /// A segment is sealed and a new one started when the next batch would take it past this
        /// many bytes. Default 64 MiB.
        public var segmentMaxBytes: Int64 = 64 << 20
        /// When batches are forced to disk. Default ``FsyncPolicy/always``.
        public var fsync: FsyncPolicy = .always
        /// Group commit gathers waiting appends into one batch until their payloads reach about this
        /// many bytes; a single append larger than this still forms one batch. Default 1 MiB.
        public var maxBatchBytes: Int = 1 << 20
        /// The largest payload one record may carry. Default 16 MiB.
        public var maxPayloadBytes: Int = 16 << 20
        /// Whether batch bodies are LZ4-compressed (bodies LZ4 cannot shrink are stored raw anyway).
        /// Default true.
        public var compression: Bool = true
        /// How often, at most, the writer records a new durable recovery point (an fsync of a small
        /// file) after batches became durable; it also records one when it rolls a segment and when it
        /// closes. Records acknowledged before the last recovery point are never cut by recovery.
        /// Default 1 second; zero records one after every durable batch.
        public var recoveryPointInterval: Duration = .seconds(1)
        /// The writer reserves the active segment's space ahead of its batches in steps of this many
        /// bytes, by writing zeroes, so that an `fdatasync` after a batch flushes only data: the
        /// file's size and blocks are already on disk, and ext4 need not commit its journal for each
        /// batch. Recovery and readers treat zeroes after the last batch as free space. A sealed or
        /// cleanly closed segment is cut back to its last batch. Default 1 MiB; zero grows the file
        /// batch by batch.
        public var reserveBytes: Int64 = 1 << 20

        public init() {}
    }

    public let partition: PartitionID
    public let directory: String
    /// The epoch this handle writes with; nil for a read-only handle.
    public let epoch: Epoch?
    package let state: PartitionState
    private let writer: PartitionWriter?
    private let configuration: Configuration
    /// What recovery found and did when this handle opened.
    package let recovery: PartitionRecovery.Report

    private init(
        partition: PartitionID, directory: String, epoch: Epoch?, state: PartitionState, writer: PartitionWriter?,
        configuration: Configuration, recovery: PartitionRecovery.Report
    ) {
        self.partition = partition
        self.directory = directory
        self.epoch = epoch
        self.state = state
        self.writer = writer
        self.configuration = configuration
        self.recovery = recovery
    }

    deinit { writer?.requestStop() }

    /// Opens (creating if needed) a partition for writing with `epoch`.
    ///
    /// Takes the partition's exclusive lock, refuses an epoch older than the manifest's fence or the
    /// newest batch, fences the manifest at `epoch`, recovers (truncating a torn tail, rebuilding
    /// stale indexes) and starts the writer thread. Blocks on file I/O.
    ///
    /// - Throws: ``EventLogError`` with code `locked` if another writer holds the partition (its pid
    ///   is named), `staleEpoch`, `corruption` for damage inside durable data, or `io`.
    public static func openForWriting(
        directory: String, partition: PartitionID, epoch: Epoch, configuration: Configuration = Configuration(),
        logger: Logger
    ) throws -> PartitionLog {
        // A new partition's directory entry is fsynced in `partitions/` before anything is written in it.
        try FileSystem.createDirectory(directory, durable: true)
        let lock = try PartitionLock(directory: directory, partition: partition)
        do {
            var manifest =
                try PartitionManifest.load(directory: directory)
                ?? PartitionManifest(partition: partition, fencedEpoch: epoch)
            guard manifest.partition == partition.rawValue else {
                throw EventLogError(
                    .invalidArgument, "directory holds partition \(manifest.partition), not \(partition)",
                    path: FileSystem.join(directory, PartitionManifest.fileName))
            }
            guard epoch.rawValue >= manifest.fencedEpoch else {
                throw EventLogError(
                    .staleEpoch, "epoch \(epoch) is older than the partition's fence \(manifest.fencedEpoch)",
                    path: FileSystem.join(directory, PartitionManifest.fileName))
            }
            let (segments, report) = try PartitionRecovery(
                directory: directory, partition: partition, repair: true, logger: logger
            ).run()
            let state = PartitionState(segments: segments)
            if let newest = state.values.withLock({ $0.newestEpoch }), epoch < newest {
                throw EventLogError(
                    .staleEpoch,
                    "epoch \(epoch) is older than epoch \(newest) already written to partition \(partition)",
                    path: directory)
            }
            if manifest.fencedEpoch != epoch.rawValue
                || !FileSystem.exists(FileSystem.join(directory, PartitionManifest.fileName))
            {
                manifest.fencedEpoch = epoch.rawValue
                try manifest.save(directory: directory)
            }
            if segments.isEmpty {
                try SegmentFile.createFirst(in: directory)
                try FileSystem.syncDirectory(directory)
                let file = try SegmentFile(directory: directory, baseOffset: .zero)
                state.values.withLock { $0.segments = [PartitionState.Segment(file: file, entries: [])] }
            }
            let writer = try PartitionWriter(
                directory: directory, partition: partition, epoch: epoch, configuration: configuration, shared: state,
                lock: lock, recoveryPoint: report.recoveryPoint, logger: logger)
            writer.start()
            logger.info(
                "opened partition for writing",
                metadata: [
                    "partition": "\(partition)", "epoch": "\(epoch)",
                    "log.end": "\(state.values.withLock { $0.endOffset })",
                    "segments": "\(report.segments)",
                ])
            return PartitionLog(
                partition: partition, directory: directory, epoch: epoch, state: state, writer: writer,
                configuration: configuration, recovery: report)
        } catch {
            lock.release()
            throw error
        }
    }

    /// Opens a partition for reading only: no lock, no repair. A torn tail is hidden, not removed.
    ///
    /// - Throws: ``EventLogError`` with code `notFound` if the directory holds no partition,
    ///   `corruption` for damage inside durable data.
    public static func openForReading(
        directory: String, partition: PartitionID, logger: Logger
    ) throws -> PartitionLog {
        guard FileSystem.isDirectory(directory) else {
            throw EventLogError(.notFound, "no partition \(partition) here", path: directory)
        }
        let (segments, report) = try PartitionRecovery(
            directory: directory, partition: partition, repair: false, logger: logger
        ).run()
        return PartitionLog(
            partition: partition, directory: directory, epoch: nil, state: PartitionState(segments: segments),
            writer: nil, configuration: Configuration(), recovery: report)
    }

    /// Appends `records` as one unit and returns their offsets once they are durable.
    ///
    /// Concurrent appends share a batch and an fsync (group commit). The records of one call are
    /// never split across batches, so they become durable (and visible) together or not at all.
    ///
    /// - Throws: ``EventLogError`` with code `invalidArgument` (no records, or a payload over
    ///   ``Configuration/maxPayloadBytes``), `closed`, or `io` after a failed write.
    public func append(_ records: [Record]) async throws -> Range<Offset> {
        do {
            return try await withCheckedThrowingContinuation { continuation in
                enqueue(records) { continuation.resume(with: $0) }
            }
        } catch let error as EventLogError {
            throw error
        } catch {
            throw EventLogError(.io, "append failed", underlying: error)
        }
    }

    /// Queues `records` as one append, synchronously, and calls `completion` (on the log's own
    /// thread) once they are durable or have failed.
    ///
    /// Appends get offsets in the order `enqueue` is called, so an actor that decides commands one
    /// after another can enqueue them without awaiting and still keep the log in decision order.
    /// Validation failures call `completion` before this returns.
    public func enqueue(
        _ records: [Record], completion: @escaping @Sendable (Result<Range<Offset>, EventLogError>) -> Void
    ) {
        guard let writer else {
            return completion(.failure(EventLogError(.invalidArgument, "partition \(partition) was opened read-only")))
        }
        let bytes: Int
        switch PartitionLog.check(records, maxPayloadBytes: configuration.maxPayloadBytes) {
        case .success(let size): bytes = size
        case .failure(let error): return completion(.failure(error))
        }
        if let failure = state.values.withLock({
            $0.closed ? EventLogError(.closed, "partition \(partition) is closed") : $0.failure
        }) {
            return completion(.failure(failure))
        }
        writer.enqueue(.init(records: records, bytes: bytes, completion: completion))
    }

    /// Checks an append before it is queued: at least one record, no payload over the limit.
    ///
    /// - Returns: the bytes the records take in a batch body, about, for group-commit sizing.
    package static func check(_ records: [Record], maxPayloadBytes: Int) -> Result<Int, EventLogError> {
        guard !records.isEmpty else {
            return .failure(EventLogError(.invalidArgument, "an append needs at least one record"))
        }
        var bytes = 0
        for record in records {
            guard record.payload.count <= maxPayloadBytes else {
                return .failure(
                    EventLogError(
                        .invalidArgument,
                        "payload of \(record.payload.count) bytes exceeds the limit of \(maxPayloadBytes)"))
            }
            bytes += record.payload.count + 24
        }
        return .success(bytes)
    }

    /// Finishes queued appends, syncs, releases the lock (for a writer) and wakes every tail.
    public func close() async {
        if let writer { await writer.stop() }
        let waiters = state.values.withLock { v in
            v.closed = true
            return PartitionState.takeWaiters(&v)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Suspends until every record below `end` is durable (and readable); false if the log closes
    /// or its writer fails first, so those records may never become durable.
    public func waitUntilDurable(below end: Offset) async -> Bool {
        while true {
            let (visible, stopped) = state.values.withLock { ($0.endOffset, $0.closed || $0.failure != nil) }
            if visible >= end { return true }
            if stopped || end == .zero { return false }
            await state.waitForAppend(after: visible)
        }
    }

    /// The offset the next appended record will get; every offset below it is readable.
    public var endOffset: Offset { state.values.withLock { $0.endOffset } }

    /// The newest epoch stamped in any batch, if any batch exists.
    public var newestEpoch: Epoch? { state.values.withLock { $0.newestEpoch } }

    /// The first offset still stored (the oldest segment's base).
    public var startOffset: Offset { state.values.withLock { $0.segments.first?.file.baseOffset ?? .zero } }

    /// Summary figures about the stored segments.
    public var statistics: Statistics {
        state.values.withLock { v in
            var s = Statistics()
            s.segments = v.segments.count
            for segment in v.segments {
                s.batches += segment.entries.count
                s.storedBytes += segment.entries.last?.end ?? 0
            }
            s.records = v.endOffset.rawValue - (v.segments.first?.file.baseOffset.rawValue ?? 0)
            return s
        }
    }

    public struct Statistics: Sendable, Equatable {
        public var segments = 0
        public var batches = 0
        public var records: UInt64 = 0
        public var storedBytes: Int64 = 0
    }
}
