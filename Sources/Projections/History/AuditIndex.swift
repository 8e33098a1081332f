public import Domain
public import EventLog
import Synchronization

/// Pages through a guild's audit trail, newest first, without replaying its history from the start
/// for each page: the audit fold is kept at checkpoints through the guild's history (at most
/// ``maximumCheckpoints`` per guild, evenly spaced by the guild's events), so a page before any
/// offset folds only the events since the checkpoint before it — about `events / 16` — after the
/// first page of a guild built them. Checkpoints are kept for the ``guildsKept`` guilds read most
/// recently; the log is the truth, so losing them costs only time.
///
/// Blocking: every call reads the log. Call it on the I/O pool.
public final class AuditIndex: Sendable {
    /// One page: entries oldest first, and the cursor for the next older page.
    public struct Page: Sendable {
        public var entries: [AuditEntry]
        /// Pass as `before` to read the page before this one; nil on the oldest page.
        public var nextBefore: Offset?
    }

    struct Checkpoint: Sendable {
        /// The first offset the fold has not seen.
        var next: Offset
        var fold: AuditFold
    }

    struct Trail: Sendable {
        /// Ascending by `next`; the first is the empty fold at offset 0.
        var checkpoints: [Checkpoint]
        /// The guild's events between two checkpoints.
        var interval: Int
        var lastUsed: UInt64
    }

    /// Checkpoints kept per guild (each holds the guild's state at that point). Default 16.
    public let maximumCheckpoints: Int
    /// Guilds whose checkpoints are kept. Default 4.
    public let guildsKept: Int
    private let trails = Mutex<(trails: [GuildID: Trail], clock: UInt64)>(([:], 0))

    public init(maximumCheckpoints: Int = 16, guildsKept: Int = 4) {
        precondition(maximumCheckpoints >= 2 && guildsKept >= 1)
        self.maximumCheckpoints = maximumCheckpoints
        self.guildsKept = guildsKept
    }

    /// The newest `limit` audit entries of `guild` (for `person`, if given) before `before` (the
    /// log's end when nil); a page never splits the entries of one event.
    ///
    /// - Throws: ``EventLog/EventLogError`` from reading the log.
    /// - Complexity: O(events since the checkpoint before the page) after the guild's checkpoints
    ///   exist; the first call for a guild folds its whole history once.
    public func page(log: any LogReader, guild: GuildID, person: PersonID?, before: Offset?, limit: Int) throws -> Page
    {
        precondition(limit >= 1)
        let end = min(before ?? log.endOffset, log.endOffset)
        var trail =
            trails.withLock { $0.trails[guild] }
            ?? Trail(checkpoints: [Checkpoint(next: .zero, fold: AuditFold(guild: guild))], interval: 1024, lastUsed: 0)
        try extend(&trail, log: log, guild: guild, to: end)

        var collected: [AuditEntry] = []
        var upper = end
        var i = (trail.checkpoints.lastIndex { $0.next < end }) ?? 0
        while true {
            var fold = trail.checkpoints[i].fold
            var segment: [AuditEntry] = []
            try log.forEachEvent(LogQuery(from: trail.checkpoints[i].next, to: upper, guild: guild)) {
                segment += fold.apply($0, person: person)
            }
            collected = segment + collected
            if collected.count >= limit || i == 0 { break }
            upper = trail.checkpoints[i].next
            i -= 1
        }
        var start = max(0, collected.count - limit)
        while start > 0, start < collected.count, collected[start - 1].offset == collected[start].offset { start -= 1 }
        let page = Array(collected[start...])
        let older = start > 0 || i > 0
        keep(trail, for: guild)
        return Page(entries: page, nextBefore: older ? (page.first?.offset ?? trail.checkpoints[i].next) : nil)
    }

    /// Folds the guild's events from its newest checkpoint up to `end`, adding a checkpoint every
    /// `interval` of them; past ``maximumCheckpoints``, every other one is dropped and the interval
    /// doubles, so a guild's checkpoints stay evenly spread over its history.
    private func extend(_ trail: inout Trail, log: any LogReader, guild: GuildID, to end: Offset) throws {
        guard let last = trail.checkpoints.last, last.next < end else { return }
        var fold = last.fold
        var count = 0
        try log.forEachEvent(LogQuery(from: last.next, to: end, guild: guild)) { event in
            _ = fold.apply(event, person: nil)
            count += 1
            if count >= trail.interval {
                count = 0
                trail.checkpoints.append(Checkpoint(next: event.offset.advanced(by: 1), fold: fold))
                if trail.checkpoints.count > maximumCheckpoints {
                    trail.checkpoints = trail.checkpoints.enumerated().filter { $0.offset % 2 == 0 }.map(\.element)
                    trail.interval *= 2
                }
            }
        }
    }

    private func keep(_ trail: Trail, for guild: GuildID) {
        trails.withLock { t in
            t.clock += 1
            var trail = trail
            trail.lastUsed = t.clock
            t.trails[guild] = trail
            while t.trails.count > guildsKept, let oldest = t.trails.min(by: { $0.value.lastUsed < $1.value.lastUsed })
            {
                t.trails.removeValue(forKey: oldest.key)
            }
        }
    }
}
