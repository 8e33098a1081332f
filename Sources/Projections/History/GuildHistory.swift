public import Domain
public import EventLog

/// A moment in a partition's history: an offset (exclusive) or a time (inclusive).
public enum HistoryPoint: Sendable, Hashable, CustomStringConvertible {
    /// Everything before this offset.
    case offset(Offset)
    /// Everything stamped at or before this time.
    case time(Timestamp)

    public var description: String {
        switch self {
        case .offset(let o): "offset \(o)"
        case .time(let t): "\(t)"
        }
    }

    /// Parses an offset (digits) or a time (`2026-12-01`, `2026-12-01T12:00Z`).
    public init?(parsing text: String) {
        if let value = UInt64(text), text.count < 13 {
            self = .offset(Offset(value))
        } else if let t = Timestamp(parsing: text) {
            self = .time(t)
        } else {
            return nil
        }
    }

    func includes(_ event: StoredEvent) -> Bool {
        switch self {
        case .offset(let o): event.offset < o
        case .time(let t): event.timestamp <= t
        }
    }
}

/// Reads a guild's history from the log through the guild index — the audit trail and time travel
/// never copy events into SQLite.
public struct GuildHistory: Sendable {
    public let log: PartitionLog

    public init(log: PartitionLog) { self.log = log }

    /// Calls `body` with each of the guild's events up to `until`, in order.
    public func forEachEvent(guild: GuildID, until: HistoryPoint? = nil, _ body: (StoredEvent) throws -> Void) throws {
        try log.forEachEvent(LogQuery(guild: guild), until: until, body)
    }

    /// The guild's state as of `until` (time travel).
    public func state(guild: GuildID, asOf until: HistoryPoint? = nil, globalDefaults: [SettingKey: Int64] = [:]) throws -> GuildState {
        var state = GuildState(guild: guild, globalDefaults: globalDefaults)
        try forEachEvent(guild: guild, until: until) { state.apply($0) }
        return state
    }

    /// Every read model of the partition as of `until`, in an in-memory database: any query of
    /// ``ReadModelStore`` answers as it would have then.
    public func readModels(asOf until: HistoryPoint, catalog: ProjectionCatalog = .current,
                           globalDefaults: [SettingKey: Int64] = [:]) throws -> ReadModelStore {
        var model = PartitionModel(globalDefaults: globalDefaults, remembersKeys: false)
        model.tracksChanges = false
        try log.forEachEvent(LogQuery(), until: until) { model.apply($0) }
        if case .offset(let o) = until { model.advance(to: o) }
        model.markEverythingDirty()
        let store = try ReadModelStore(path: ReadModelStore.inMemory, catalog: catalog)
        try store.write(&model)
        return store
    }
}
