public import Domain
public import EventLog
public import Partition

/// A partition's folded state as the read models see it: the ``Partition/PartitionModel`` (without
/// idempotency keys) plus which guilds and people changed since the rows were last written, so the
/// projector rewrites only those.
public struct ProjectionModel: Sendable {
    public private(set) var partition: PartitionModel
    /// Whether ``apply(_:)`` notes which rows change (a projector writing incrementally needs it;
    /// a full rebuild writes everything and does not).
    public var tracksChanges = true

    /// Guilds whose guild-level rows (settings, raffle, roles, links, shop) changed.
    var dirtyGuilds: Set<GuildID> = []
    /// People whose rows changed, per guild.
    var dirtyPeople: [GuildID: Set<PersonID>] = [:]
    /// How many people are marked changed.
    var dirtyPeopleCount: Int { dirtyPeople.values.reduce(0) { $0 + $1.count } }

    public init(globalDefaults: [SettingKey: Int64] = [:]) {
        partition = PartitionModel(globalDefaults: globalDefaults, remembersKeys: false)
    }

    /// The model of a snapshot (decoded without idempotency keys), as of its offset, with no row
    /// marked changed.
    init(snapshot: PartitionModel) { partition = snapshot }

    public var guilds: DenseTable<GuildID, GuildState> { partition.guilds }
    public var nextOffset: Offset { partition.nextOffset }
    public func state(of guild: GuildID) -> GuildState? { partition.state(of: guild) }

    /// Applies one event (events must come in offset order), noting the rows it changes.
    public mutating func apply(_ event: StoredEvent) {
        if tracksChanges {
            // A guild's first event creates its guild row.
            if partition.guilds[event.guild] == nil { dirtyGuilds.insert(event.guild) }
            markDirty(event, event.guild)
        }
        partition.apply(event)
    }

    /// The model of the log below `end`, folded without noting changes and then marked all changed,
    /// so that a write puts every row (a rebuild's first write).
    ///
    /// - Parameter progress: called every `progressEvery` events with the count and `end`.
    /// - Returns: the model and the number of events folded.
    static func folded(
        _ log: any LogReader, to end: Offset, globalDefaults: [SettingKey: Int64], progressEvery: UInt64,
        progress: ((UInt64, Offset) -> Void)?
    ) throws -> (model: ProjectionModel, events: UInt64) {
        var model = ProjectionModel(globalDefaults: globalDefaults)
        model.tracksChanges = false
        var applied: UInt64 = 0
        try log.forEachEvent(LogQuery(to: end)) { event in
            model.apply(event)
            applied += 1
            if applied % progressEvery == 0 { progress?(applied, end) }
        }
        model.advance(to: end)
        model.markEverythingDirty()
        return (model, applied)
    }

    /// See ``Partition/PartitionModel/advance(to:)``.
    mutating func advance(to offset: Offset) { partition.advance(to: offset) }

    mutating func clearDirty() {
        dirtyGuilds.removeAll(keepingCapacity: true)
        dirtyPeople.removeAll(keepingCapacity: true)
    }

    mutating func markEverythingDirty() {
        dirtyGuilds = Set(guilds.keys)
        dirtyPeople = Dictionary(uniqueKeysWithValues: guilds.lazy.map { ($0.key, Set($0.value.people.keys)) })
    }

    private mutating func markDirty(_ stored: StoredEvent, _ guild: GuildID) {
        func person(_ p: PersonID) { dirtyPeople[guild, default: []].insert(p) }
        let guilds = partition.guilds
        switch stored.event {
        case .watchTimeAccrued(let credited, _): credited.forEach(person)
        case .pointsEarned(let p, _, _, _), .pointsSpent(let p, _, _), .pointsRefunded(let p, _, _),
            .pointsAdjusted(let p, _, _, _), .ticketsGranted(let p, _, _, _), .ticketsRemoved(let p, _, _, _),
            .raffleExclusionChanged(let p, _):
            person(p)
        case .itemPurchased(let order):
            person(order.person)
            dirtyGuilds.insert(guild)
        case .orderCancelled(let id, _, _, _, let to):
            if let order = guilds[guild]?.orders[id] { person(order.person) }
            if let to { person(to) }
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
        case .legacyPersonImported(let p):
            person(p.person)
            dirtyGuilds.insert(guild)
        case .legacyOrderImported(let o):
            person(o.order.person)
            dirtyGuilds.insert(guild)
        case .legacyRecordImported(_, let inner):
            markDirty(
                StoredEvent(
                    offset: stored.offset, guild: guild, sequence: stored.sequence, timestamp: stored.timestamp,
                    key: nil, commandEvents: 1, event: inner), guild)
        case .kickNameResolved(let name, let chatter):
            // The name's totals move to the account's owner: a linked Discord user, or the Kick account.
            person(.kickName(name))
            person(.kick(chatter))
            if let user = guilds[guild]?.legacy.linkedNames[name] { person(.discord(user)) }
            if let owner = guilds[guild]?.owner(of: chatter) { person(owner) }
            dirtyGuilds.insert(guild)
        default:
            dirtyGuilds.insert(guild)
        }
    }
}
