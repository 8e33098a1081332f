import EventLog
import Testing

@testable import Domain

/// The flat tables behind guild state (``DenseTable``, ``IdempotencyKeys``) against the plain
/// dictionaries and arrays they replaced, under seeded random operations.
@Suite struct FlatStateTests {
    /// A person id from a small pool, so that operations hit the same people again.
    static func person(_ rng: inout SplitMix64) -> PersonID {
        let n = rng.next() % 400
        switch rng.next() % 8 {
        case 0: return .kickName("name\(n)")
        case 1, 2, 3: return .kick(KickUserID(n))
        default: return .discord(UserID(n))
        }
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func denseTableMatchesADictionaryUnderInsertsUpdatesAndRemovals(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        var table = PersonTable()
        var reference: [PersonID: PersonState] = [:]
        for step in 0..<20_000 {
            let id = Self.person(&rng)
            switch rng.next() % 10 {
            case 0, 1:
                #expect(table.removeValue(forKey: id) == reference.removeValue(forKey: id), "seed \(seed) step \(step)")
            case 2:
                var p = PersonState()
                p.points = Int64(step)
                table[id] = p
                reference[id] = p
            case 3:
                table[id] = nil
                reference[id] = nil
            default:
                table.update(id) { $0.minutes += 1 }
                reference[id, default: PersonState()].minutes += 1
            }
            #expect(table.count == reference.count, "seed \(seed) step \(step)")
            let probe = Self.person(&rng)
            #expect(table[probe] == reference[probe], "seed \(seed) step \(step)")
        }
        #expect(Dictionary(uniqueKeysWithValues: table.map { ($0.key, $0.value) }) == reference, "seed \(seed)")
        #expect(Set(table.keys) == Set(reference.keys))
        for (id, state) in reference { #expect(table[id] == state, "seed \(seed)") }
    }

    @Test func denseTablesWithTheSameEntriesAreEqualWhateverTheirOrder() {
        var a = PersonTable()
        var b = PersonTable()
        let ids: [PersonID] = [.discord(UserID(1)), .kick(KickUserID(1)), .kickName("x"), .discord(UserID(2))]
        for (i, id) in ids.enumerated() { a.update(id) { $0.points = Int64(i) } }
        for (i, id) in ids.enumerated().reversed() { b.update(id) { $0.points = Int64(i) } }
        #expect(a == b)
        #expect(a.keys != b.keys, "the numbering differs, the maps do not")
        b.update(.kickName("x")) { $0.points += 1 }
        #expect(a != b)
        b.update(.kickName("x")) { $0.points -= 1 }
        b.update(.kick(KickUserID(9))) { _ in }
        #expect(a != b, "an extra person makes them differ")
    }

    /// The keys as the dictionary-and-array implementation before the ring kept them.
    struct ReferenceKeys {
        var outcomes: [String: IdempotencyKeys.Outcome] = [:]
        var order: [String] = []
        var start = 0

        mutating func record(_ key: String, _ outcome: IdempotencyKeys.Outcome) {
            if outcomes.updateValue(outcome, forKey: key) != nil, let old = order[start...].firstIndex(of: key) {
                order.remove(at: old)
            }
            order.append(key)
            let horizon = outcome.timestamp.rawValue - IdempotencyKeys.retentionMilliseconds
            while start < order.count {
                let remembered = outcomes[order[start]]!
                guard remembered.timestamp.rawValue < horizon || outcomes.count > IdempotencyKeys.maximumCount else {
                    break
                }
                outcomes[order[start]] = nil
                start += 1
            }
        }

        var live: [String] { Array(order[start...]) }
    }

    @Test(arguments: [7, 8] as [UInt64])
    func idempotencyKeysForgetExactlyAsTheDictionaryDid(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        var keys = IdempotencyKeys()
        var reference = ReferenceKeys()
        var clock: Int64 = 1_796_083_200_000
        var issued = 0
        for step in 0..<30_000 {
            // Mostly bursts, sometimes a day or more of silence (time expiry, and the ring shrinking);
            // the last 15,000 commands come within minutes (the count bound).
            let silence = step < 15_000 && rng.next() % 500 == 0
            clock += silence ? Int64(rng.next() % (3 * 86_400_000)) : Int64(rng.next() % 50)
            let key: String
            if issued > 0, rng.next() % 50 == 0 {
                key = "k\(issued - 1 - Int(rng.next() % UInt64(min(issued, 20))))"  // a recent key again
            } else {
                key = "k\(issued)"
                issued += 1
            }
            let outcome = IdempotencyKeys.Outcome(
                firstSequence: UInt64(step + 1), events: Int(rng.next() % 4) + 1,
                timestamp: Timestamp(milliseconds: clock), firstOffset: rng.next() % 3 == 0 ? nil : Offset(UInt64(step))
            )
            keys.record(key, outcome)
            reference.record(key, outcome)
            #expect(keys.count == reference.outcomes.count, "seed \(seed) step \(step)")
            let probe = "k\(Int(rng.next() % UInt64(issued)))"
            #expect(keys[probe] == reference.outcomes[probe], "seed \(seed) step \(step)")
        }
        #expect(keys.count == IdempotencyKeys.maximumCount, "the bound was reached")
        let live = Array(keys.liveEntries)
        #expect(live.map(\.key) == reference.live.map(IdempotencyKeys.KeyHash.init), "seed \(seed)")
        #expect(live.map(\.outcome) == reference.live.map { reference.outcomes[$0]! }, "seed \(seed)")

        // A snapshot of the guild holding these keys restores them, in the same order.
        var state = GuildState(guild: GuildID(1))
        state.keys = keys
        var w = ByteWriter(capacity: 1 << 20)
        state.encodeSnapshot(into: &w)
        let decoded = try w.bytes.withUnsafeBytes { raw in
            var r = ByteReader(raw)
            return try GuildState.decodeSnapshot(from: &r, globalDefaults: [:], remembersKeys: true)
        }
        #expect(decoded.keys == keys)
        #expect(decoded == state)
    }
}
