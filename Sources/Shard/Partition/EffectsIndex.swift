public import Domain
public import EventLog
import Synchronization

/// What a partition's guilds ask of the outside world, indexed so that neither a webhook nor the
/// outbox scans every guild: which guilds a Kick channel routes to, and which guilds have deliveries
/// waiting. Kept by the partition's owner from the events it applies; read without its actor.
public final class EffectsIndex: Sendable {
    private struct Index {
        var routes: [KickUserID: Set<GuildID>] = [:]
        var channels: [GuildID: KickUserID] = [:]
        var pending: Set<GuildID> = []
        /// The newest delivery of each guild whose request is durable: only those may be sent.
        var durable: [GuildID: DeliveryID] = [:]
    }

    private let index = Mutex(Index())

    init() {}

    /// The guilds connected to `broadcaster`'s Kick channel.
    public func guilds(connectedTo broadcaster: KickUserID) -> Set<GuildID> {
        index.withLock { $0.routes[broadcaster] ?? [] }
    }

    /// The guilds with deliveries waiting for an outcome.
    public var guildsWithDeliveries: Set<GuildID> { index.withLock { $0.pending } }

    /// The newest delivery of `guild` whose request is durable.
    public func durableDelivery(of guild: GuildID) -> DeliveryID {
        index.withLock { $0.durable[guild] ?? DeliveryID(0) }
    }

    /// Notes what `state` (a guild's whole state, restored from durable events) holds.
    func note(_ state: GuildState) {
        index.withLock { i in
            if let channel = state.kickChannel { Self.connect(&i, state.guild, channel.broadcaster) }
            if !state.deliveries.isEmpty { i.pending.insert(state.guild) }
            i.durable[state.guild] = state.lastDelivery
        }
    }

    /// Notes that `events` of `guild` are durable: their deliveries may be sent.
    func noteDurable(_ events: some Sequence<StoredEvent>) {
        for stored in events {
            guard case .deliveryRequested(let delivery) = stored.event else { continue }
            index.withLock { i in i.durable[stored.guild] = max(i.durable[stored.guild] ?? DeliveryID(0), delivery.id) }
        }
    }

    /// Notes what `events` of `guild` change, given the guild's state after them.
    func note(_ events: some Sequence<StoredEvent>, state: @autoclosure () -> GuildState?) {
        var touched = false
        var connected: KickUserID?
        for stored in events {
            switch stored.event {
            case .kickChannelConnected(let channel): connected = channel.broadcaster
            case .deliveryRequested, .deliveryRecorded: touched = true
            default: continue
            }
        }
        // The guild's state is copied only for the few commands that need it (not per command).
        guard touched || connected != nil, let state = state() else { return }
        index.withLock { i in
            if let connected { Self.connect(&i, state.guild, connected) }
            if state.deliveries.isEmpty { i.pending.remove(state.guild) } else { i.pending.insert(state.guild) }
        }
    }

    private static func connect(_ i: inout Index, _ guild: GuildID, _ broadcaster: KickUserID) {
        if let old = i.channels[guild] { i.routes[old]?.remove(guild) }
        i.channels[guild] = broadcaster
        i.routes[broadcaster, default: []].insert(guild)
    }
}
