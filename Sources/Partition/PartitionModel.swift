public import Domain
public import EventLog

/// Every guild of one partition folded from the log: the write side's state (with idempotency keys,
/// to decide commands) and the read side's (without them, to write read models).
public struct PartitionModel: Sendable {
    /// Every guild's state, stored flat (see ``Domain/DenseTable``).
    public private(set) var guilds = DenseTable<GuildID, GuildState>()
    /// The offset after the last event applied.
    public private(set) var nextOffset: Offset = .zero
    public let globalDefaults: [SettingKey: Int64]
    /// Whether guild states record idempotency keys (needed to decide commands, not to write read models).
    public let remembersKeys: Bool

    public init(globalDefaults: [SettingKey: Int64] = [:], remembersKeys: Bool = true) {
        self.globalDefaults = globalDefaults
        self.remembersKeys = remembersKeys
    }

    public func state(of guild: GuildID) -> GuildState? { guilds[guild] }

    /// Applies one event (events must come in offset order).
    public mutating func apply(_ event: StoredEvent) {
        let (defaults, keys) = (globalDefaults, remembersKeys)
        guilds.update(event.guild, default: PartitionModel.newGuild(event.guild, defaults, keys)) { $0.apply(event) }
        nextOffset = Offset(event.offset.rawValue + 1)
    }

    /// A guild with no events yet, under this partition's defaults.
    public func emptyState(of guild: GuildID) -> GuildState {
        PartitionModel.newGuild(guild, globalDefaults, remembersKeys)
    }

    private static func newGuild(_ guild: GuildID, _ defaults: [SettingKey: Int64], _ remembersKeys: Bool) -> GuildState
    {
        var state = GuildState(guild: guild, globalDefaults: defaults)
        state.remembersKeys = remembersKeys
        return state
    }

    /// Puts a whole guild state in place (loading a snapshot).
    mutating func restore(_ state: GuildState) {
        guilds[state.guild] = state
    }

    /// Notes that the log has no events below `offset` that this model has not seen (used after
    /// replaying up to a checkpoint).
    public mutating func advance(to offset: Offset) {
        if offset > nextOffset { nextOffset = offset }
    }
}
