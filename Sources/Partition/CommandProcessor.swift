public import Domain
public import EventLog

/// Decides commands against guild state and turns accepted events into log records: the shard's
/// core loop without its I/O. The caller appends the records and then calls ``commit(_:)``.
public struct CommandProcessor: Sendable {
    public private(set) var model: PartitionModel

    public init(model: PartitionModel = PartitionModel()) { self.model = model }

    /// A decided command: its decision and, when accepted, the records to append.
    public struct Outcome: Sendable {
        public var decision: Decision
        public var records: [Record]
        /// The events as they will be stored, with the offsets they get once appended in order.
        public var events: [StoredEvent]
    }

    /// Decides `command` for `guild` and applies the resulting events to the in-memory state at once,
    /// so the next command sees them (the caller must append the records, in order, before
    /// acknowledging anything).
    public mutating func process(_ command: Command, guild: GuildID, context: CommandContext) -> Outcome {
        // The guild's state is decided on in place in the table (a copy of `GuildState` per command
        // was ~10 % of a batch's server CPU); the table's storage is held only while deciding: held
        // while the events are applied, it would make the apply copy it (copy-on-write).
        let decision =
            if let n = model.guilds.number(of: guild) {
                model.guilds.values[n].decide(command, context: context)
            } else {
                model.emptyState(of: guild).decide(command, context: context)
            }
        guard case .accepted(let events) = decision, !events.isEmpty else {
            return Outcome(decision: decision, records: [], events: [])
        }
        return commit(events, guild: guild, context: context, decision: decision)
    }

    /// Turns events a rule of the guild already decided (``Domain/GuildState/decideImport(_:time:)``,
    /// which an import also needs for its report) into records and applies them, as ``process(_:guild:context:)``
    /// does after deciding: the import is decided once, not twice.
    public mutating func commit(_ events: [DomainEvent], guild: GuildID, context: CommandContext) -> Outcome {
        guard !events.isEmpty else { return Outcome(decision: .accepted([]), records: [], events: []) }
        return commit(events, guild: guild, context: context, decision: .accepted(events))
    }

    private mutating func commit(_ events: [DomainEvent], guild: GuildID, context: CommandContext, decision: Decision)
        -> Outcome
    {
        let lastSequence = model.state(of: guild)?.lastSequence ?? 0
        var records: [Record] = []
        var stored: [StoredEvent] = []
        records.reserveCapacity(events.count)
        for (i, event) in events.enumerated() {
            let sequence = lastSequence + UInt64(i) + 1
            let key = i == 0 ? context.key : nil
            records.append(
                EventCodec.record(
                    event, guild: guild, sequence: sequence, timestamp: context.time, key: key,
                    commandEvents: events.count, origin: i == 0 ? context.origin : .unknown))
            stored.append(
                StoredEvent(
                    offset: model.nextOffset.advanced(by: Int64(i)), guild: guild, sequence: sequence,
                    timestamp: context.time,
                    key: key, commandEvents: events.count, origin: i == 0 ? context.origin : .unknown, event: event))
        }
        for e in stored { model.apply(e) }
        return Outcome(decision: decision, records: records, events: stored)
    }
}

extension CommandProcessor {
    /// Folds an event already in the log (when resuming a partition's history).
    public mutating func restore(_ event: StoredEvent) {
        model.apply(event)
    }
}
