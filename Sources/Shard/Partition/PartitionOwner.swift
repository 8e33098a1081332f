public import Domain
public import EventLog
public import Logging
import Projections

/// Owns one partition in a shard: holds its write lock and epoch, its guilds' state, and turns
/// commands into durable events.
///
/// A command is decided against the in-memory state, its events are applied at once (so the next
/// command sees them) and enqueued to the log in decision order, and the caller is answered only
/// once they are durable. If an append fails, the memory is ahead of the log: the owner refuses
/// everything until it is acquired again (which replays the log).
public actor PartitionOwner {
    public let partition: PartitionID
    public let epoch: Epoch
    private let log: PartitionLog
    private var processor: CommandProcessor
    private var failure: (any Error)?
    private var released = false
    private let logger: Logger

    /// What a command did.
    public struct Outcome: Sendable {
        /// The events it produced (for a duplicate: the ones the first delivery produced).
        public var events: [StoredEvent]
        /// Whether the key had been seen: nothing was appended this time.
        public var duplicate: Bool
    }

    private init(partition: PartitionID, epoch: Epoch, log: PartitionLog, processor: CommandProcessor, logger: Logger) {
        self.partition = partition
        self.epoch = epoch
        self.log = log
        self.processor = processor
        self.logger = logger
    }

    /// Takes the partition: opens its log for writing (lock and epoch), replays it into memory, and
    /// only then returns an owner that accepts commands.
    ///
    /// - Throws: ``EventLog/EventLogError`` (`locked`, `staleEpoch`, `corruption` …) or
    ///   ``Projections/ProjectionsError`` for a record this build cannot decode.
    public static func acquire(
        data: DataDirectory, partition: PartitionID, epoch: Epoch, globalDefaults: [SettingKey: Int64] = [:],
        configuration: PartitionLog.Configuration = .init(), logger: Logger
    ) throws -> PartitionOwner {
        let log = try PartitionLog.openForWriting(
            directory: data.directory(of: partition), partition: partition, epoch: epoch, configuration: configuration,
            logger: logger)
        var processor = CommandProcessor(model: PartitionModel(globalDefaults: globalDefaults))
        do {
            try log.forEachEvent(LogQuery()) { processor.restore($0) }
        } catch {
            Task { await log.close() }
            throw error
        }
        logger.info(
            "acquired partition",
            metadata: ["partition": "\(partition)", "epoch": "\(epoch)", "log.end": "\(log.endOffset)",
                       "guilds": "\(processor.model.guilds.count)"])
        return PartitionOwner(partition: partition, epoch: epoch, log: log, processor: processor, logger: logger)
    }

    /// Decides `command` for `guild` and returns once its events are durable.
    ///
    /// - Throws: ``Domain/Rejection`` when the rules refuse it (nothing changed); ``ShardError``
    ///   with code `unavailable` after a failed append or once released.
    public func handle(_ command: Command, guild: GuildID, context: CommandContext) async throws -> Outcome {
        if let failure { throw ShardError(.unavailable, "partition \(partition) must be reacquired after a failed append", underlying: failure) }
        guard !released else { throw ShardError(.unavailable, "partition \(partition) was released") }
        let decided = processor.process(command, guild: guild, context: context)
        switch decided.decision {
        case .rejected(let rejection):
            throw rejection
        case .duplicate(let first):
            return Outcome(events: try originalEvents(guild: guild, first: first), duplicate: true)
        case .accepted:
            guard !decided.records.isEmpty else { return Outcome(events: [], duplicate: false) }
            // Enqueued before this actor turn ends, so the log keeps decision order.
            let range: Range<Offset>
            do {
                range = try await withCheckedThrowingContinuation { continuation in
                    log.enqueue(decided.records) { continuation.resume(with: $0) }
                }
            } catch {
                poison(error)
                throw ShardError(.unavailable, "the events of this command could not be made durable", underlying: error)
            }
            precondition(range.lowerBound == decided.events.first?.offset, "log offsets diverged from the owner's")
            return Outcome(events: decided.events, duplicate: false)
        }
    }

    /// Marks the owner failed when an append of applied events fails.
    private func poison(_ error: any Error) {
        if failure == nil {
            failure = error
            logger.critical("partition append failed; refusing commands until reacquired",
                            metadata: ["partition": "\(partition)", "error": "\(error)"])
        }
    }

    /// The events a command first produced, read back from the log through the guild index.
    private func originalEvents(guild: GuildID, first: IdempotencyKeys.Outcome) throws -> [StoredEvent] {
        var events: [StoredEvent] = []
        let range = first.firstSequence..<(first.firstSequence + UInt64(first.events))
        try log.forEachEvent(LogQuery(guild: guild)) { event in
            if range.contains(event.sequence) { events.append(event) }
        }
        return events
    }

    /// The state of one guild, for reads that need the live state (not the read models).
    public func state(of guild: GuildID) -> GuildState? { processor.model.state(of: guild) }

    /// The offset after the last durable or in-flight event.
    public var endOffset: Offset { log.endOffset }

    /// Stops accepting commands, waits for in-flight appends, closes the log and releases the lock.
    public func release() async {
        released = true
        await log.close()
        logger.info("released partition", metadata: ["partition": "\(partition)", "epoch": "\(epoch)"])
    }
}
