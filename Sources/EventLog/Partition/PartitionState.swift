package import Synchronization

/// What readers and the writer share about a partition: its segments and their index entries, the
/// visible end, and who waits for more. Guarded by one mutex, never held across I/O or `await`.
package final class PartitionState: Sendable {
    package struct Segment: Sendable {
        package let file: SegmentFile
        package var entries: [IndexEntry]

        package var nextOffset: Offset { entries.last?.nextOffset ?? file.baseOffset }
    }

    package struct Values: Sendable {
        package var segments: [Segment]
        /// Offsets below this are durable (or, under an interval fsync policy, written) and readable.
        package var endOffset: Offset
        /// The newest epoch stamped in any batch.
        package var newestEpoch: Epoch?
        package var closed = false
        /// Set when a write or fsync failed: the writer refuses further appends until reopened.
        package var failure: EventLogError?
        package var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        package var nextWaiter = 0
    }

    package let values: Mutex<Values>

    package init(segments: [Segment]) {
        let end = segments.last?.nextOffset ?? .zero
        let epoch = segments.last(where: { !$0.entries.isEmpty })?.entries.last?.epoch
        values = Mutex(Values(segments: segments, endOffset: end, newestEpoch: epoch))
    }

    /// Where the next batch to read lies.
    package enum Lookup {
        case batch(SegmentFile, IndexEntry, skipped: Int)
        /// Batches up to `offset` were skipped by the filters; look again from there.
        case skipped(to: Offset, skipped: Int)
        /// Nothing more to read; `skipped` batches were ruled out on the way.
        case end(skipped: Int)
    }

    /// Finds the batch holding `offset`, or the first one after it that may hold `guild`'s records
    /// and records at or after `since`, below `limit`.
    ///
    /// - Complexity: O(log segments + log entries), plus at most 65,536 filter checks per call so the
    ///   mutex is never held long.
    package func lookup(_ offset: Offset, guild: GuildID?, since: Timestamp?, limit: Offset?) -> Lookup {
        values.withLock { v in
            let end = min(v.endOffset, limit ?? v.endOffset)
            guard offset < end else { return .end(skipped: 0) }
            var s = PartitionState.lastIndex(in: v.segments, atOrBefore: offset) { $0.file.baseOffset }
            guard s >= 0 else { return .end(skipped: 0) }
            var e = PartitionState.lastIndex(in: v.segments[s].entries, atOrBefore: offset) { $0.baseOffset }
            if e < 0 { e = 0 }
            var skipped = 0
            while s < v.segments.count {
                let entries = v.segments[s].entries
                while e < entries.count {
                    let entry = entries[e]
                    if entry.baseOffset >= end { return .end(skipped: skipped) }
                    if entry.nextOffset > offset {
                        let wanted =
                            (guild.map { entry.filter.mayContain($0) } ?? true)
                            && (since.map { entry.maxTimestamp >= $0 } ?? true)
                        if wanted { return .batch(v.segments[s].file, entry, skipped: skipped) }
                        skipped += 1
                        if skipped >= 65_536 { return .skipped(to: entry.nextOffset, skipped: skipped) }
                    }
                    e += 1
                }
                s += 1
                e = 0
            }
            return .end(skipped: skipped)
        }
    }

    /// Suspends until the visible end passes `offset` or the log closes.
    package func waitForAppend(after offset: Offset) async {
        let id: Int? = values.withLock { v in
            if v.endOffset > offset || v.closed { return nil }
            v.nextWaiter += 1
            return v.nextWaiter
        }
        guard let id else { return }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = values.withLock { v -> Bool in
                    if v.endOffset > offset || v.closed || Task.isCancelled { return true }
                    v.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            values.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }

    /// Takes every waiter; the caller resumes them after leaving the lock.
    package static func takeWaiters(_ v: inout Values) -> [CheckedContinuation<Void, Never>] {
        defer { v.waiters.removeAll() }
        return Array(v.waiters.values)
    }

    /// The last index whose key is ≤ `offset`, or -1.
    static func lastIndex<T>(in items: [T], atOrBefore offset: Offset, key: (T) -> Offset) -> Int {
        var lo = 0
        var hi = items.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if key(items[mid]) <= offset { lo = mid + 1 } else { hi = mid }
        }
        return lo - 1
    }
}
