public import Domain
public import EventLog

/// Every guild of one partition folded from the log, plus which guilds and people changed since the
/// read models were last written.
public struct PartitionModel: Sendable {
    public private(set) var guilds: [GuildID: GuildState] = [:]
    /// The offset after the last event applied.
    public private(set) var nextOffset: Offset = .zero
    public let globalDefaults: [SettingKey: Int64]
    /// Whether ``apply(_:)`` notes which rows change (a projector writing incrementally needs it;
    /// a full rebuild writes everything and does not).
    public var tracksChanges = true

    /// Guilds whose guild-level rows (settings, raffle, roles, links, shop) changed.
    var dirtyGuilds: Set<GuildID> = []
    /// People whose rows changed, per guild.
    var dirtyPeople: [GuildID: Set<PersonID>] = [:]

    /// Whether guild states record idempotency keys (needed to decide commands, not to write read models).
    public let remembersKeys: Bool

    public init(globalDefaults: [SettingKey: Int64] = [:], remembersKeys: Bool = true) {
        self.globalDefaults = globalDefaults
        self.remembersKeys = remembersKeys
    }

    public func state(of guild: GuildID) -> GuildState? { guilds[guild] }

    /// Applies one event (events must come in offset order).
    public mutating func apply(_ event: StoredEvent) {
        let guild = event.guild
        if tracksChanges {
            // A guild's first event creates its guild row.
            if guilds[guild] == nil { dirtyGuilds.insert(guild) }
            markDirty(event, guild)
        }
        let (defaults, keys) = (globalDefaults, remembersKeys)
        guilds[guild, default: PartitionModel.newGuild(guild, defaults, keys)].apply(event)
        nextOffset = Offset(event.offset.rawValue + 1)
    }

    private static func newGuild(_ guild: GuildID, _ defaults: [SettingKey: Int64], _ remembersKeys: Bool) -> GuildState {
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
    mutating func advance(to offset: Offset) {
        if offset > nextOffset { nextOffset = offset }
    }

    mutating func clearDirty() {
        dirtyGuilds.removeAll(keepingCapacity: true)
        dirtyPeople.removeAll(keepingCapacity: true)
    }

    mutating func markEverythingDirty() {
        dirtyGuilds = Set(guilds.keys)
        dirtyPeople = guilds.mapValues { Set($0.people.keys) }
    }

    private mutating func markDirty(_ stored: StoredEvent, _ guild: GuildID) {
        func person(_ p: PersonID) { dirtyPeople[guild, default: []].insert(p) }
        switch stored.event {
        case .watchTimeAccrued(let credited, _): credited.forEach(person)
        case .pointsEarned(let p, _, _, _), .pointsSpent(let p, _, _), .pointsRefunded(let p, _, _),
            .pointsAdjusted(let p, _, _, _), .ticketsGranted(let p, _, _, _), .ticketsRemoved(let p, _, _, _),
            .raffleExclusionChanged(let p, _):
            person(p)
        case .itemPurchased(let order):
            person(order.person)
            dirtyGuilds.insert(guild)
        case .orderCancelled(let id, _, _, _):
            if let order = guilds[guild]?.orders[id] { person(order.person) }
            dirtyGuilds.insert(guild)
        case .chatterEarningsMerged(let chatter, let user, _, _, _):
            person(.kick(chatter))
            person(.discord(user))
            dirtyGuilds.insert(guild)
        case .rafflePeriodOpened:
            // Every person's period tickets reset.
            dirtyPeople[guild, default: []].formUnion(guilds[guild].map { Array($0.people.keys) } ?? [])
            dirtyGuilds.insert(guild)
        case .chatterSeen(let chatter, let name), .platformUsernameChanged(let chatter, _, let name):
            // Only a new or renamed chatter changes a row (the name shown on leaderboards).
            if guilds[guild]?.chatters[chatter]?.username != name {
                person(guilds[guild]?.owner(of: chatter) ?? .kick(chatter))
            }
        case .accountLinked(let user, _, _), .accountUnlinked(let user, _):
            person(.discord(user))
            dirtyGuilds.insert(guild)
        case .giftedSubsRecorded, .subscriptionRecorded:
            break
        default:
            dirtyGuilds.insert(guild)
        }
    }
}
