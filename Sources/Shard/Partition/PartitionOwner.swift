public import Domain
public import EventLog
public import Logging
import Partition
import Synchronization

/// Owns one partition in a shard: holds its write lock and epoch, its guilds' state, and turns
/// commands into durable events.
///
/// A command is decided against the in-memory state, its events are applied at once (so the next
/// command sees them) and enqueued to the log in decision order, and the caller is answered only
/// once they are durable. If an append fails, the memory is ahead of the log: the owner refuses
/// everything from then on, and its node releases it and acquires the partition again after a
/// backoff (which recovers the log's tail and replays it).
public actor PartitionOwner {
    public nonisolated let partition: PartitionID
    public nonisolated let epoch: Epoch
    /// The partition's log, shared with readers: its end moves as appends become durable.
    public nonisolated let log: any PartitionLogHandle
    /// The log's segment files when the store is a data directory (nil in PostgreSQL).
    public nonisolated var fileLog: PartitionLog? { log as? PartitionLog }
    /// The log as read by projectors, audit pages and history scans (on threads that may block).
    public nonisolated let reader: any LogReader
    /// Where the log and its snapshots are kept.
    public nonisolated let store: any LogStore
    private var processor: CommandProcessor
    /// Appends in flight and the first failure (after which everything is refused until reacquired).
    private nonisolated let appends = AppendTracker()
    private var released = false
    private let logger: Logger
    /// Take a snapshot once this many events have been applied since the last one. Default 100,000.
    public let snapshotEvery: Int
    private var eventsSinceSnapshot = 0
    /// Events replayed from the log when acquired (after the snapshot, if one was used).
    public nonisolated let replayedEvents: Int
    /// Kick routes and waiting deliveries of this partition's guilds.
    public nonisolated let effects = EffectsIndex()
    /// Wakes the watchers of a guild (overlay streams) once new events of it are durable.
    public nonisolated let changes = DurableChanges()

    /// What a command did.
    public struct Outcome: Sendable {
        /// The events it produced (for a duplicate: the ones the first delivery produced).
        public var events: [StoredEvent]
        /// Whether the key had been seen: nothing was appended this time.
        public var duplicate: Bool
    }

    private init(
        partition: PartitionID, epoch: Epoch, log: any PartitionLogHandle, store: any LogStore,
        processor: CommandProcessor, snapshotEvery: Int, replayedEvents: Int, logger: Logger
    ) {
        self.partition = partition
        self.epoch = epoch
        self.log = log
        self.reader = log.blockingReader()
        self.store = store
        self.processor = processor
        self.snapshotEvery = snapshotEvery
        self.replayedEvents = replayedEvents
        self.logger = logger
        for state in processor.model.guilds.values {
            effects.note(state)
            changes.noteRestored(state)
        }
    }

    /// Takes the partition from a data directory's files (see ``acquire(store:partition:epoch:globalDefaults:configuration:snapshotEvery:logger:)``).
    public static func acquire(
        data: DataDirectory, partition: PartitionID, epoch: Epoch, globalDefaults: [SettingKey: Int64] = [:],
        configuration: PartitionLog.Configuration = .init(), snapshotEvery: Int = 100_000, logger: Logger
    ) async throws -> PartitionOwner {
        try await acquire(
            store: FileLogStore(data: data), partition: partition, epoch: epoch, globalDefaults: globalDefaults,
            configuration: configuration, snapshotEvery: snapshotEvery, logger: logger)
    }

    /// Takes the partition: opens its log in `store` for writing (fencing every older owner with
    /// `epoch` or, in a store that raises it itself, a higher one), loads the newest snapshot and
    /// replays the log after it into memory, and only then returns an owner that accepts commands.
    ///
    /// - Throws: ``EventLog/EventLogError`` (`locked`, `staleEpoch`, `corruption` …) or
    ///   ``Partition/PartitionError`` for a record this build cannot decode.
    public static func acquire(
        store: any LogStore, partition: PartitionID, epoch: Epoch, globalDefaults: [SettingKey: Int64] = [:],
        configuration: PartitionLog.Configuration = .init(), snapshotEvery: Int = 100_000, logger: Logger
    ) async throws -> PartitionOwner {
        let log = try await store.openForWriting(
            partition: partition, epoch: epoch, configuration: configuration, logger: logger)
        let reader = log.blockingReader()
        let restored: (processor: CommandProcessor, snapshotOffset: Offset, replayed: Int)
        do {
            // A snapshot past the log's end describes events that never became durable: ignored.
            let snapshot = try await PartitionModel.loadNewestSnapshot(
                from: store, partition: partition, end: log.endOffset, globalDefaults: globalDefaults)
            // Reading the log blocks: it runs on the I/O pool, not the cooperative one.
            restored = try await BlockingIOPool.shared.run {
                let model = snapshot ?? PartitionModel(globalDefaults: globalDefaults)
                var processor = CommandProcessor(model: model)
                var replayed = 0
                try reader.forEachEvent(LogQuery(from: model.nextOffset)) {
                    processor.restore($0)
                    replayed += 1
                }
                return (processor, model.nextOffset, replayed)
            }
        } catch {
            await log.close()
            throw error
        }
        let (processor, snapshotOffset, replayed) = restored
        let held = log.epoch ?? epoch
        logger.info(
            "acquired partition",
            metadata: [
                "partition": "\(partition)", "epoch": "\(held)", "log.end": "\(log.endOffset)",
                "snapshot.offset": "\(snapshotOffset)", "replayed": "\(replayed)",
                "guilds": "\(processor.model.guilds.count)", "store": "\(store.location)",
            ])
        return PartitionOwner(
            partition: partition, epoch: held, log: log, store: store, processor: processor,
            snapshotEvery: snapshotEvery, replayedEvents: replayed, logger: logger)
    }

    /// Whether an append failed: the owner refuses every command and must be released and the
    /// partition acquired again.
    public nonisolated var hasFailed: Bool { appends.failure != nil }

    /// Decides `command` for `guild` and returns once its events are durable.
    ///
    /// Deciding, applying and enqueueing happen on the actor; the wait for durability does not, so
    /// the log's thread resumes the caller directly (no hop back onto the owner per command).
    ///
    /// - Throws: ``Domain/Rejection`` when the rules refuse it (nothing changed); ``ShardError``
    ///   with code `unavailable` after a failed append or once released.
    public nonisolated func handle(_ command: Command, guild: GuildID, context: CommandContext) async throws -> Outcome
    {
        switch try await submit(command, guild: guild, context: context) {
        case .answered(let outcome):
            return outcome
        case .appending(let events, let append, let snapshotDue):
            let range: Range<Offset>
            do { range = try await append.value() } catch {
                throw ShardError(
                    .unavailable, "the events of this command could not be made durable", underlying: error)
            }
            precondition(range.lowerBound == events.first?.offset, "log offsets diverged from the owner's")
            if snapshotDue { await snapshotIfDue() }
            return Outcome(events: events, duplicate: false)
        }
    }

    /// What the actor's part of a command left to do.
    private enum Submission: Sendable {
        /// Answered without an append (a duplicate, or nothing to do).
        case answered(Outcome)
        /// These events are being appended; `snapshotDue` once enough events passed since the last snapshot.
        case appending([StoredEvent], PendingAppend, snapshotDue: Bool)
    }

    /// The part of ``handle(_:guild:context:)`` on the actor: decide, apply, enqueue.
    private func submit(_ command: Command, guild: GuildID, context: CommandContext) async throws -> Submission {
        try checkAvailable()
        let decided = processor.process(command, guild: guild, context: context)
        effects.note(decided.events, state: processor.model.state(of: guild))
        switch decided.decision {
        case .rejected(let rejection):
            throw rejection
        case .duplicate(let first):
            return .answered(Outcome(events: try await originalEvents(guild: guild, first: first), duplicate: true))
        case .accepted:
            guard !decided.records.isEmpty else { return .answered(Outcome(events: [], duplicate: false)) }
            let append = enqueue(decided.records, events: decided.events)
            return .appending(decided.events, append, snapshotDue: eventsSinceSnapshot >= snapshotEvery)
        }
    }

    /// Refuses commands after a failed append or once released.
    private func checkAvailable() throws {
        if let failure = appends.failure {
            throw ShardError(
                .unavailable, "partition \(partition) is recovering from a failed append; retry", underlying: failure)
        }
        guard !released else { throw ShardError(.unavailable, "partition \(partition) was released") }
    }

    /// Enqueues `records` within this actor turn (so the log keeps decision order). The log's thread
    /// settles the append: it notes the durable `events` for the outbox, records a failure (the
    /// memory is then ahead of the log: everything is refused until reacquired), and resumes the
    /// waiter.
    private func enqueue(_ records: [Record], events: [StoredEvent]) -> PendingAppend {
        let pending = PendingAppend()
        let (appends, effects, changes, logger, partition) = (
            self.appends, self.effects, self.changes, self.logger, self.partition
        )
        eventsSinceSnapshot += events.count
        appends.begin()
        log.enqueue(records) { result in
            switch result {
            case .success:
                effects.noteDurable(events)
                appends.end(failure: nil)
                changes.noteDurable(events)
            case .failure(let error):
                if appends.end(failure: error) {
                    logger.critical(
                        "partition append failed; refusing commands until reacquired",
                        metadata: ["partition": "\(partition)", "error": "\(error)"])
                }
            }
            pending.complete(result.mapError { $0 })
        }
        return pending
    }

    /// Snapshots if enough events passed since the last snapshot and nothing is in flight.
    private func snapshotIfDue() async {
        guard eventsSinceSnapshot >= snapshotEvery, appends.isIdle else { return }
        do { try await snapshot() } catch {
            logger.warning("snapshot failed", metadata: ["partition": "\(partition)", "error": "\(error)"])
        }
    }

    /// Decides several commands for `guild` in order and makes the events of every accepted one
    /// durable with one append (one batch, one fsync), then answers each on its own: its outcome, or
    /// the ``Domain/Rejection`` the rules gave it (a rejected command changes nothing and harms none
    /// of the others). A duplicate within the batch is answered with the events its first occurrence
    /// produced.
    ///
    /// - Throws: ``ShardError`` `unavailable` after a failed append or once released (no command of
    ///   the batch is acknowledged then).
    public nonisolated func handleBatch(_ commands: [(Command, CommandContext)], guild: GuildID) async throws
        -> [Result<Outcome, Rejection>]
    {
        var batch = try await submitBatch(commands, guild: guild)
        if let append = batch.append {
            let range: Range<Offset>
            do { range = try await append.value() } catch {
                throw ShardError(.unavailable, "the events of this batch could not be made durable", underlying: error)
            }
            precondition(
                range.lowerBound == batch.accepted[0].events[0].offset, "log offsets diverged from the owner's")
            for (i, events) in batch.accepted { batch.results[i] = .success(Outcome(events: events, duplicate: false)) }
            if batch.snapshotDue { await snapshotIfDue() }
        }
        // Read after this batch is durable, so a key repeated within it finds its first events.
        for (i, first) in batch.duplicates {
            batch.results[i] = .success(
                Outcome(events: try await originalEvents(guild: guild, first: first), duplicate: true))
        }
        return batch.results
    }

    /// What the actor's part of a batch decided.
    private struct BatchSubmission: Sendable {
        var results: [Result<Outcome, Rejection>]
        var accepted: [(index: Int, events: [StoredEvent])] = []
        var duplicates: [(index: Int, first: IdempotencyKeys.Outcome)] = []
        var append: PendingAppend?
        var snapshotDue = false
    }

    /// The part of ``handleBatch(_:guild:)`` on the actor: decide and apply each command, enqueue the
    /// accepted ones' records as one append (one batch on disk, so one fsync).
    private func submitBatch(_ commands: [(Command, CommandContext)], guild: GuildID) throws -> BatchSubmission {
        try checkAvailable()
        var batch = BatchSubmission(
            results: .init(repeating: .success(Outcome(events: [], duplicate: false)), count: commands.count))
        var records: [Record] = []
        var events: [StoredEvent] = []
        for (i, (command, context)) in commands.enumerated() {
            let decided = processor.process(command, guild: guild, context: context)
            effects.note(decided.events, state: processor.model.state(of: guild))
            switch decided.decision {
            case .rejected(let rejection): batch.results[i] = .failure(rejection)
            case .duplicate(let first): batch.duplicates.append((i, first))
            case .accepted:
                guard !decided.records.isEmpty else { continue }
                records += decided.records
                events += decided.events
                batch.accepted.append((i, decided.events))
            }
        }
        if !records.isEmpty {
            batch.append = enqueue(records, events: events)
            batch.snapshotDue = eventsSinceSnapshot >= snapshotEvery
        }
        return batch
    }

    /// The events a command first produced, read back from the log: by their offsets (they are
    /// contiguous, so this reads one batch or two whatever the guild's history), or, for a key
    /// remembered without offsets, through the guild index.
    private func originalEvents(guild: GuildID, first: IdempotencyKeys.Outcome) async throws -> [StoredEvent] {
        let log = self.log
        let range = first.firstSequence..<(first.firstSequence + UInt64(first.events))
        let query: LogQuery
        if let offset = first.firstOffset {
            let end = offset.advanced(by: Int64(max(first.events, 1)))
            // The first delivery may still be in flight: answer only once its events are durable,
            // so a duplicate never reports as done what a failed append may yet lose.
            guard await log.waitUntilDurable(below: end) else {
                throw ShardError(
                    .unavailable, "the first delivery of this command could not be made durable; retry")
            }
            query = LogQuery(from: offset, to: end)
        } else {
            query = LogQuery(guild: guild)
        }
        let reader = self.reader
        return try await BlockingIOPool.shared.run {
            var events: [StoredEvent] = []
            try reader.forEachEvent(query) { event in
                if event.guild == guild, range.contains(event.sequence) { events.append(event) }
            }
            return events
        }
    }

    var processorGuilds: [GuildID] { processor.model.guilds.keys.sorted() }

    /// The state of one guild, for reads that need the live state (not the read models).
    public func state(of guild: GuildID) -> GuildState? { processor.model.state(of: guild) }

    /// The deliveries waiting for an outcome whose requests are durable, oldest first per guild.
    public func durableDeliveries() -> [(guild: GuildID, delivery: Delivery)] {
        var out: [(GuildID, Delivery)] = []
        for guild in effects.guildsWithDeliveries.sorted() {
            guard let state = processor.model.state(of: guild) else { continue }
            let durable = effects.durableDelivery(of: guild)
            out += state.deliveries.values.filter { $0.id <= durable }.sorted { $0.id < $1.id }.map { (guild, $0) }
        }
        return out
    }

    /// The offset after the last durable event: the log's readable end (in-flight appends are not counted).
    public var endOffset: Offset { log.endOffset }

    /// Writes a snapshot of the state as of the log's durable end (waiting for in-flight appends, so
    /// the snapshot never holds an event the log might not).
    ///
    /// - Returns: the offset the snapshot reflects, or nil after a failed append.
    @discardableResult
    public func snapshot() async throws -> Offset? {
        // Re-checked after every wait: other commands may have started appends meanwhile.
        while !appends.isIdle { await appends.idle() }
        guard appends.failure == nil else { return nil }
        let model = processor.model
        eventsSinceSnapshot = 0
        let partition = self.partition
        // Encoding a large partition takes a while: on the I/O pool, so the owner keeps deciding.
        let bytes = try await BlockingIOPool.shared.run { model.encodeSnapshot(partition: partition) }
        try await store.writeSnapshot(bytes, partition: partition, offset: model.nextOffset, epoch: epoch)
        return model.nextOffset
    }

    /// Stops accepting commands, waits for in-flight appends, snapshots, closes the log and releases
    /// the lock.
    public func release() async {
        released = true
        while !appends.isIdle { await appends.idle() }
        if appends.failure == nil, eventsSinceSnapshot > 0 {
            do { try await snapshot() } catch {
                logger.warning(
                    "snapshot on release failed", metadata: ["partition": "\(partition)", "error": "\(error)"])
            }
        }
        await log.close()
        changes.close()
        logger.info("released partition", metadata: ["partition": "\(partition)", "epoch": "\(epoch)"])
    }
}
