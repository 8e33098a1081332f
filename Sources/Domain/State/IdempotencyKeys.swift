public import EventLog

/// The idempotency keys a guild has seen, with the events each produced; forgotten after
/// ``retentionMilliseconds`` of log time (deterministically, by event timestamps).
///
/// Keys are held as 128-bit hashes of their UTF-8 bytes (two independently seeded 64-bit mixes), so
/// the table stores no strings; two different keys colliding is a 2⁻¹²⁸ event.
///
/// One entry per command (its first event carries the key), 48 bytes each, in a ring in the order
/// they were recorded — which is the order they expire in — with an open-addressed index of 32-bit
/// ring positions over it. Keys are chosen by clients, so the index places them by SipHash
/// (`Hasher`, seeded per process), computed once per command and kept in the entry: expiring or
/// growing never hashes again. See `docs/decisions/0013-flat-partition-state.md`.
public struct IdempotencyKeys: Hashable, Sendable {
    /// Keys are remembered for 7 days of log time…
    public static let retentionMilliseconds: Int64 = 7 * 86_400_000
    /// …and at most this many per guild (the oldest is forgotten first), so that a guild's memory
    /// and snapshot do not grow with its chat: a repeat is recognized when it comes within 7 days
    /// of log time of the first delivery *and* fewer than this many later commands of the guild
    /// came in between (see README, "Idempotency"). 10,000.
    public static let maximumCount = 10_000

    public struct Outcome: Hashable, Sendable {
        /// The sequence number of the command's first event.
        public var firstSequence: UInt64
        public var events: Int
        public var timestamp: Timestamp
        /// The log offset of the command's first event (its events are contiguous there), so a
        /// duplicate is answered by reading just those; nil when the state was folded without offsets.
        public var firstOffset: Offset?

        public init(firstSequence: UInt64, events: Int, timestamp: Timestamp, firstOffset: Offset? = nil) {
            self.firstSequence = firstSequence
            self.events = events
            self.timestamp = timestamp
            self.firstOffset = firstOffset
        }
    }

    /// A key's 128-bit hash.
    struct KeyHash: Hashable, Sendable {
        var high: UInt64
        var low: UInt64

        init(_ key: String) {
            var a: UInt64 = 0x6A09_E667_F3BC_C908
            var b: UInt64 = 0xBB67_AE85_84CA_A73B
            var key = key
            key.withUTF8 { bytes in
                var i = 0
                while i < bytes.count {
                    var word: UInt64 = 0
                    let n = min(8, bytes.count - i)
                    for j in 0..<n { word |= UInt64(bytes[i + j]) << (8 * UInt64(j)) }
                    a = StableHash.mix64(a ^ word)
                    b = StableHash.mix64(b &+ word &* 0x9E37_79B9_7F4A_7C15)
                    i += 8
                }
                a = StableHash.mix64(a ^ UInt64(bytes.count))
                b = StableHash.mix64(b ^ UInt64(bytes.count) << 32)
            }
            high = a
            low = b
        }

        init(high: UInt64, low: UInt64) {
            self.high = high
            self.low = low
        }

        func hash(into hasher: inout Hasher) { hasher.combine(low) }

        /// Where the index places this key: SipHash under the process's random seed, since clients
        /// choose keys (an unseeded hash would let them aim many keys at one bucket).
        var code: UInt32 {
            var hasher = Hasher()
            hasher.combine(low)
            return UInt32(truncatingIfNeeded: hasher.finalize())
        }
    }

    /// One remembered command.
    struct Entry: Sendable {
        var key: KeyHash
        var firstSequence: UInt64
        var timestamp: Int64
        /// The first event's offset + 1; 0 when unknown.
        var offsetPlusOne: UInt64
        /// The command's event count, or ``Entry/dead`` once the key was recorded again later.
        var events: UInt32
        /// `key.code`, kept so that expiring and growing never hash again.
        var code: UInt32

        static let dead = UInt32.max
        static let empty = Entry(
            key: KeyHash(high: 0, low: 0), firstSequence: 0, timestamp: 0, offsetPlusOne: 0, events: dead, code: 0)

        init(key: KeyHash, firstSequence: UInt64, timestamp: Int64, offsetPlusOne: UInt64, events: UInt32, code: UInt32)
        {
            self.key = key
            self.firstSequence = firstSequence
            self.timestamp = timestamp
            self.offsetPlusOne = offsetPlusOne
            self.events = events
            self.code = code
        }

        init(_ key: KeyHash, code: UInt32, _ outcome: Outcome) {
            self.init(
                key: key, firstSequence: outcome.firstSequence, timestamp: outcome.timestamp.rawValue,
                offsetPlusOne: outcome.firstOffset.map { $0.rawValue &+ 1 } ?? 0,
                // Event counts come from the codec, which bounds them by Int32.max.
                events: UInt32(clamping: min(max(outcome.events, 0), Int(Entry.dead - 1))), code: code)
        }

        var isDead: Bool { events == Entry.dead }

        var outcome: Outcome {
            Outcome(
                firstSequence: firstSequence, events: Int(events), timestamp: Timestamp(milliseconds: timestamp),
                firstOffset: offsetPlusOne == 0 ? nil : Offset(offsetPlusOne - 1))
        }
    }

    /// The entries in the order recorded: `ring[(head + i) % ring.count]` for `i < used` (empty
    /// before the first key; grows by half when full of live entries).
    private var ring: [Entry] = []
    private var head = 0
    /// Entries in the ring, dead ones included.
    private var used = 0
    /// The index: a live entry's ring position + 1, or 0 for a free slot; linear probing, sized so
    /// that a full ring fills at most three quarters of it.
    private var slots: [UInt32] = []
    /// How many keys are remembered.
    public private(set) var count = 0

    public init() {}

    /// Equal when the same keys are remembered with the same outcomes, in the same expiry order.
    public static func == (a: IdempotencyKeys, b: IdempotencyKeys) -> Bool {
        guard a.count == b.count else { return false }
        return a.liveEntries.elementsEqual(b.liveEntries) { $0.key == $1.key && $0.outcome == $1.outcome }
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(count) }

    /// The live entries, oldest first.
    var liveEntries: some Sequence<Entry> {
        let (ring, head, used) = (ring, head, used)
        return (0..<used).lazy.map { ring[(head + $0) % ring.count] }.filter { !$0.isDead }
    }

    public subscript(key: String) -> Outcome? {
        let hash = KeyHash(key)
        guard let (_, position) = find(hash, code: hash.code) else { return nil }
        return ring[position].outcome
    }

    /// Remembers `key`, then forgets (deterministically, so every replay forgets the same keys at
    /// the same event) the keys older than 7 days of log time before `outcome` and the oldest
    /// beyond ``maximumCount``.
    mutating func record(_ key: String, _ outcome: Outcome) {
        append(KeyHash(key), outcome)
        let horizon = outcome.timestamp.rawValue - IdempotencyKeys.retentionMilliseconds
        while used > 0 {
            let oldest = ring[head]
            if !oldest.isDead {
                guard oldest.timestamp < horizon || count > IdempotencyKeys.maximumCount else { break }
                forgetOldest()
            } else {
                dropOldest()
            }
        }
        // A guild that went quiet gives its memory back.
        if ring.count > 64 && used * 8 < ring.count { rebuild(capacity: used * 2) }
    }

    /// Puts a key back as a snapshot recorded it (oldest first), forgetting nothing.
    mutating func restore(_ key: KeyHash, _ outcome: Outcome) {
        append(key, outcome)
    }

    /// Makes room for `n` keys.
    mutating func reserveCapacity(_ n: Int) {
        if n > ring.count - used { rebuild(capacity: count + n) }
    }

    /// Forgets the oldest keys beyond ``maximumCount`` (a snapshot written with a larger bound).
    mutating func trimToMaximum() {
        while count > IdempotencyKeys.maximumCount, used > 0 {
            if ring[head].isDead { dropOldest() } else { forgetOldest() }
        }
    }

    // MARK: - The ring and its index

    /// Appends `key` as the newest entry; an older entry of the same key is marked dead.
    private mutating func append(_ key: KeyHash, _ outcome: Outcome) {
        if used == ring.count { rebuild(capacity: count == used ? used + used / 2 : count + 1) }
        let code = key.code
        let position = wrap(head + used)
        ring[position] = Entry(key, code: code, outcome)
        used += 1
        if let (slot, old) = find(key, code: code) {
            ring[old].events = Entry.dead
            slots[slot] = UInt32(position + 1)
        } else {
            insertSlot(position, code: code)
            count += 1
        }
    }

    /// Forgets the oldest entry, which is live.
    private mutating func forgetOldest() {
        let mask = slots.count - 1
        var slot = Int(ring[head].code) & mask
        while slots[slot] != UInt32(head + 1) { slot = (slot + 1) & mask }
        removeSlot(slot)
        count -= 1
        dropOldest()
    }

    private mutating func dropOldest() {
        head = wrap(head + 1)
        used -= 1
    }

    /// `i` (less than twice the ring's size) as a ring position.
    @inline(__always)
    private func wrap(_ i: Int) -> Int { i >= ring.count ? i - ring.count : i }

    /// The index slot and ring position of `key`, if remembered.
    private func find(_ key: KeyHash, code: UInt32) -> (slot: Int, position: Int)? {
        guard !slots.isEmpty else { return nil }
        let mask = slots.count - 1
        var slot = Int(code) & mask
        while true {
            let value = slots[slot]
            if value == 0 { return nil }
            let position = Int(value - 1)
            if ring[position].key == key { return (slot, position) }
            slot = (slot + 1) & mask
        }
    }

    private mutating func insertSlot(_ position: Int, code: UInt32) {
        let mask = slots.count - 1
        var slot = Int(code) & mask
        while slots[slot] != 0 { slot = (slot + 1) & mask }
        slots[slot] = UInt32(position + 1)
    }

    /// Empties `slot` (see ``ProbedSlots/remove(_:from:placement:)``).
    private mutating func removeSlot(_ slot: Int) {
        let ring = ring
        ProbedSlots.remove(slot, from: &slots) { Int(ring[Int($0 - 1)].code) }
    }

    /// Copies the live entries, oldest first, into a ring of `capacity` (at least 8, and room for
    /// one more) and rebuilds the index for it.
    private mutating func rebuild(capacity: Int) {
        let size = max(8, capacity, count + 1)
        var fresh = [Entry](repeating: .empty, count: size)
        var n = 0
        for i in 0..<used {
            let e = ring[wrap(head + i)]
            if e.isDead { continue }
            fresh[n] = e
            n += 1
        }
        ring = fresh
        head = 0
        used = n
        var slotCount = 8
        while slotCount * 3 < size * 4 { slotCount *= 2 }
        slots = [UInt32](repeating: 0, count: slotCount)
        for i in 0..<n { insertSlot(i, code: ring[i].code) }
    }
}
