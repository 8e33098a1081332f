public import EventLog

/// A map stored flat: keys and values in two arrays indexed by a dense number (the order keys first
/// appeared in; removing one moves the last into its place), and an open-addressed index from key to
/// number. A guild's people (``PersonTable``) and a partition's guilds are kept this way.
///
/// Reads like a `Dictionary` (subscripts by key, `keys`, `values`, `count`, iteration as
/// `(key:, value:)` pairs, equality as maps) but costs one array element per entry instead of a
/// dictionary bucket, iterates in a deterministic order, and places keys with
/// ``DenseTableKey/placement(seed:)`` — for 64-bit ids a mix keyed by a random seed per process,
/// cheaper than SipHash and as unpredictable from outside. See
/// `docs/decisions/0013-flat-partition-state.md`.
public struct DenseTable<Key: DenseTableKey, Value>: RandomAccessCollection {
    public typealias Element = (key: Key, value: Value)

    /// Every key, by dense number.
    public var keys: [Key] { keyStore }
    /// Every value, by dense number.
    public var values: [Value] { valueStore }
    @usableFromInline var keyStore: [Key] = []
    @usableFromInline var valueStore: [Value] = []
    /// The index: a dense number + 1, or 0 for a free slot; linear probing, at most half full.
    @usableFromInline var slots: [UInt32] = []
    @usableFromInline let seed = denseTableSeed

    public init() {}

    public var startIndex: Int { 0 }
    public var endIndex: Int { keyStore.count }
    public var count: Int { keyStore.count }
    public var isEmpty: Bool { keyStore.isEmpty }

    public subscript(position: Int) -> Element { (keyStore[position], valueStore[position]) }

    /// The key's value, or nil; setting nil removes the key.
    @inlinable
    public subscript(key: Key) -> Value? {
        get { number(of: key).map { valueStore[$0] } }
        set {
            if let newValue {
                if let n = number(of: key) { valueStore[n] = newValue } else { insert(key, newValue) }
            } else {
                removeValue(forKey: key)
            }
        }
    }

    /// The key's value, or `defaultValue` (setting inserts the key).
    @inlinable
    public subscript(key: Key, default defaultValue: @autoclosure () -> Value) -> Value {
        get { number(of: key).map { valueStore[$0] } ?? defaultValue() }
        set { self[key] = newValue }
    }

    /// Changes one value in place, inserting `defaultValue` first if the key is missing: one index lookup.
    @inlinable
    public mutating func update<R>(
        _ key: Key, default defaultValue: @autoclosure () -> Value, _ body: (inout Value) -> R
    ) -> R {
        let n = number(of: key) ?? insert(key, defaultValue())
        return body(&valueStore[n])
    }

    /// Changes every value in place.
    public mutating func updateAll(_ body: (inout Value) -> Void) {
        for n in valueStore.indices { body(&valueStore[n]) }
    }

    /// Removes a key, returning its value; the last entry takes its number.
    @discardableResult
    public mutating func removeValue(forKey key: Key) -> Value? {
        guard let n = number(of: key) else { return nil }
        let mask = slots.count - 1
        removeSlot(slot(of: n, mask: mask))
        let removed = valueStore[n]
        let last = keyStore.count - 1
        if n != last {
            slots[slot(of: last, mask: mask)] = UInt32(n + 1)
            keyStore.swapAt(n, last)
            valueStore.swapAt(n, last)
        }
        keyStore.removeLast()
        valueStore.removeLast()
        return removed
    }

    public mutating func reserveCapacity(_ n: Int) {
        keyStore.reserveCapacity(n)
        valueStore.reserveCapacity(n)
        if n * 2 > slots.count { rehash(for: n) }
    }

    /// The key's dense number, if present.
    @inlinable
    public func number(of key: Key) -> Int? {
        guard !slots.isEmpty else { return nil }
        let mask = slots.count - 1
        var slot = key.placement(seed: seed) & mask
        while true {
            let value = slots[slot]
            if value == 0 { return nil }
            let n = Int(value - 1)
            if keyStore[n] == key { return n }
            slot = (slot + 1) & mask
        }
    }

    @inlinable
    @discardableResult
    mutating func insert(_ key: Key, _ value: Value) -> Int {
        if (keyStore.count + 1) * 2 > slots.count { rehash(for: keyStore.count + 1) }
        let n = keyStore.count
        keyStore.append(key)
        valueStore.append(value)
        let mask = slots.count - 1
        var slot = key.placement(seed: seed) & mask
        while slots[slot] != 0 { slot = (slot + 1) & mask }
        slots[slot] = UInt32(n + 1)
        return n
    }

    /// The index slot holding dense number `n`.
    private func slot(of n: Int, mask: Int) -> Int {
        var slot = keyStore[n].placement(seed: seed) & mask
        while slots[slot] != UInt32(n + 1) { slot = (slot + 1) & mask }
        return slot
    }

    /// Empties `slot` (see ``ProbedSlots/remove(_:from:placement:)``).
    private mutating func removeSlot(_ slot: Int) {
        let (keys, seed) = (keyStore, seed)
        ProbedSlots.remove(slot, from: &slots) { keys[Int($0 - 1)].placement(seed: seed) }
    }

    /// Rebuilds the index with room for `n` keys at most half full.
    @usableFromInline
    mutating func rehash(for n: Int) {
        var size = 8
        while size < n * 2 { size *= 2 }
        slots = [UInt32](repeating: 0, count: size)
        let mask = size - 1
        for (i, key) in keyStore.enumerated() {
            var slot = key.placement(seed: seed) & mask
            while slots[slot] != 0 { slot = (slot + 1) & mask }
            slots[slot] = UInt32(i + 1)
        }
    }
}

extension DenseTable: Sendable where Value: Sendable {}

extension DenseTable: Equatable where Value: Equatable {
    /// Equal when the same keys have the same values, whatever their numbers.
    public static func == (a: DenseTable, b: DenseTable) -> Bool {
        guard a.count == b.count else { return false }
        for (key, value) in a where b[key] != value { return false }
        return true
    }
}

/// A key of a ``DenseTable``.
public protocol DenseTableKey: Hashable, Sendable {
    /// Where the table's index places this key, given the process's random seed: it must be
    /// unpredictable without the seed when clients choose keys.
    func placement(seed: UInt64) -> Int
}

/// Keys every ``DenseTable``'s placement; random per process, so that bucket placement cannot be
/// predicted from outside.
@usableFromInline let denseTableSeed = UInt64.random(in: .min ... .max)

extension GuildID: DenseTableKey {
    @inlinable
    public func placement(seed: UInt64) -> Int { Int(truncatingIfNeeded: StableHash.mix64(rawValue ^ seed)) }
}

extension PersonID: DenseTableKey {
    /// Discord and Kick ids through the seeded mix (with different tweaks, so that `discord:N` and
    /// `kick:N` land apart); provisional names, strings chosen by clients, through SipHash.
    @inlinable
    public func placement(seed: UInt64) -> Int {
        switch self {
        case .discord(let user): Int(truncatingIfNeeded: StableHash.mix64(user.rawValue ^ seed))
        case .kick(let chatter): Int(truncatingIfNeeded: StableHash.mix64(chatter.rawValue ^ ~seed))
        case .kickName(let name): name.hashValue
        }
    }
}

/// A guild's people: their states by ``PersonID``, stored flat.
public typealias PersonTable = DenseTable<PersonID, PersonState>

extension DenseTable where Key == PersonID, Value == PersonState {
    /// Changes one person in place, adding them with an empty state first if needed.
    @inlinable
    public mutating func update<R>(_ id: PersonID, _ body: (inout PersonState) -> R) -> R {
        update(id, default: PersonState(), body)
    }
}
