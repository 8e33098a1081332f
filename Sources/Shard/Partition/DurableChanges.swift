public import Domain
public import EventLog
import Synchronization

/// Tells whoever watches a guild that new events of it are durable: a per-partition broadcast fed
/// by the owner's append completions, so overlay streams are pushed an update as soon as the log
/// has it instead of polling.
///
/// The writer never waits for a watcher: a completion only records the guild's durable sequence
/// and yields to each watcher's stream, which buffers at most one wake-up (the newest), so a slow
/// or stuck watcher holds one pending wake-up and nothing more, and delays neither the log nor the
/// other watchers. A watcher reads the state itself when it wakes (an overlay's view is the whole
/// state, so nothing between two wake-ups needs keeping). Closing, when the partition is released,
/// finishes every watcher's stream.
public final class DurableChanges: Sendable {
    /// One watcher's wake-ups: they end when the partition is released or the watcher finishes
    /// ``wake`` itself; anything may yield to ``wake`` to make the watcher look again (a keep-alive tick).
    public struct Watch: Sendable {
        public let wakes: AsyncStream<Void>
        public let wake: AsyncStream<Void>.Continuation
    }

    private struct Watchers {
        var byGuild: [GuildID: [UInt64: AsyncStream<Void>.Continuation]] = [:]
        /// The newest sequence of each guild whose events are all durable.
        var durable: [GuildID: UInt64] = [:]
        var nextID: UInt64 = 0
        var closed = false
        /// The newest state read for the watchers of each watched guild, shared by all of them.
        var latest: [GuildID: GuildState] = [:]
        /// The watchers waiting for a read another watcher of the guild has started.
        var reading: [GuildID: [CheckedContinuation<GuildState?, Never>]] = [:]
    }

    private let watchers = Mutex(Watchers())

    init() {}

    /// Notes the durable sequence of a guild restored from the log.
    func noteRestored(_ state: GuildState) {
        watchers.withLock { $0.durable[state.guild] = state.lastSequence }
    }

    /// Notes `events` durable (called on the log's thread, in append order) and wakes the watchers
    /// of their guilds.
    func noteDurable(_ events: [StoredEvent]) {
        let woken: [AsyncStream<Void>.Continuation] = watchers.withLock { w in
            var woken: [AsyncStream<Void>.Continuation] = []
            var seen: Set<GuildID> = []
            for event in events {
                if event.sequence > w.durable[event.guild, default: 0] { w.durable[event.guild] = event.sequence }
                if seen.insert(event.guild).inserted, let guildWatchers = w.byGuild[event.guild] {
                    woken += guildWatchers.values
                }
            }
            return woken
        }
        for continuation in woken { continuation.yield() }
    }

    /// The newest sequence of `guild` whose events are all durable (0 when none is).
    public func durableSequence(of guild: GuildID) -> UInt64 {
        watchers.withLock { $0.durable[guild] ?? 0 }
    }

    /// Starts watching `guild`: the stream yields after each append holding events of it becomes
    /// durable (at most one wake-up buffered) and finishes once the partition is released.
    public func watch(_ guild: GuildID) -> Watch {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let registered: UInt64? = watchers.withLock { w in
            guard !w.closed else { return nil }
            w.nextID += 1
            w.byGuild[guild, default: [:]][w.nextID] = continuation
            return w.nextID
        }
        if let id = registered {
            continuation.onTermination = { [weak self] _ in
                self?.watchers.withLock { w in
                    w.byGuild[guild]?[id] = nil
                    if w.byGuild[guild]?.isEmpty == true {
                        w.byGuild[guild] = nil
                        w.latest[guild] = nil
                    }
                }
            }
        } else {
            continuation.finish()
        }
        return Watch(wakes: stream, wake: continuation)
    }

    /// The state of `guild` for its watchers: one that holds every event of the guild durable now,
    /// read with `read` (a hop onto the owner) only when the last one read does not — and then once
    /// for all the watchers woken together, not once each (hundreds of pages may watch one guild, and
    /// the owner's actor also decides the commands).
    public func state(of guild: GuildID, read: @Sendable () async -> GuildState?) async -> GuildState? {
        enum Step {
            case cached(GuildState)
            case join
            case read
        }
        let step: Step = watchers.withLock { w in
            if let latest = w.latest[guild], latest.lastSequence >= w.durable[guild, default: 0] {
                return .cached(latest)
            }
            if w.reading[guild] != nil { return .join }
            w.reading[guild] = []
            return .read
        }
        switch step {
        case .cached(let state):
            return state
        case .join:
            return await withCheckedContinuation { continuation in
                let now: GuildState?? = watchers.withLock { w in
                    guard w.reading[guild] != nil else { return .some(w.latest[guild]) }
                    w.reading[guild]?.append(continuation)
                    return .none
                }
                if let now { continuation.resume(returning: now) }
            }
        case .read:
            let state = await read()
            let waiting: [CheckedContinuation<GuildState?, Never>] = watchers.withLock { w in
                if let state, w.byGuild[guild] != nil { w.latest[guild] = state }
                return w.reading.removeValue(forKey: guild) ?? []
            }
            for continuation in waiting { continuation.resume(returning: state) }
            return state
        }
    }

    /// How many watchers are registered (for tests and metrics).
    public var watcherCount: Int { watchers.withLock { $0.byGuild.values.reduce(0) { $0 + $1.count } } }

    /// Finishes every watcher's stream; later watches finish at once.
    func close() {
        let all: [AsyncStream<Void>.Continuation] = watchers.withLock { w in
            w.closed = true
            defer {
                w.byGuild = [:]
                w.latest = [:]
            }
            return w.byGuild.values.flatMap(\.values)
        }
        for continuation in all { continuation.finish() }
    }
}
