public import Domain
public import EventLog
public import Partition

/// Reads a guild's history from the log through the guild index — the audit trail and time travel
/// never copy events into SQLite.
public struct GuildHistory: Sendable {
    public let log: any LogReader

    public init(log: any LogReader) { self.log = log }

    /// Calls `body` with each of the guild's events up to `until`, in order.
    public func forEachEvent(guild: GuildID, until: HistoryPoint? = nil, _ body: (StoredEvent) throws -> Void) throws {
        try log.forEachEvent(LogQuery(guild: guild), until: until, body)
    }

    /// The guild's state as of `until` (time travel).
    public func state(guild: GuildID, asOf until: HistoryPoint? = nil, globalDefaults: [SettingKey: Int64] = [:]) throws
        -> GuildState
    {
        var state = GuildState(guild: guild, globalDefaults: globalDefaults)
        try forEachEvent(guild: guild, until: until) { state.apply($0) }
        return state
    }

    /// Every read model of the partition as of `until`, in an in-memory database: any query of
    /// ``ReadModelStore`` answers as it would have then.
    public func readModels(
        asOf until: HistoryPoint, catalog: ProjectionCatalog = .current,
        globalDefaults: [SettingKey: Int64] = [:]
    ) throws -> ReadModelStore {
        var model = ProjectionModel(globalDefaults: globalDefaults)
        model.tracksChanges = false
        try log.forEachEvent(LogQuery(), until: until) { model.apply($0) }
        if case .offset(let o) = until { model.advance(to: o) }
        model.markEverythingDirty()
        let store = try ReadModelStore(path: ReadModelStore.inMemory, catalog: catalog)
        try store.write(&model)
        return store
    }
}
