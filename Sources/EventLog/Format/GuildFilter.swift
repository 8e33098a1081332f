/// Which guilds a batch holds, as recorded in the segment index so guild reads can skip batches.
///
/// Up to ``exactLimit`` distinct guilds the filter is the exact sorted list: a read skips every batch
/// without the guild. Beyond that it is a Bloom filter with about 10 bits per guild and 7 hash
/// functions (≈1% false positives): a read skips about 99% of batches without the guild and checks
/// each record's guild in the rest, so results are always exact.
package enum GuildFilter: Equatable, Sendable {
    case exact([GuildID])
    case bloom(words: [UInt64], hashes: UInt8)

    package static let exactLimit = 32
    static let bitsPerGuild = 10
    static let hashCount: UInt8 = 7

    /// Builds the filter for a batch's distinct guilds (any order, no duplicates).
    package init(guilds: some Collection<GuildID>) {
        if guilds.count <= GuildFilter.exactLimit {
            self = .exact(guilds.sorted())
            return
        }
        let bits = max(64, guilds.count * GuildFilter.bitsPerGuild)
        var words = [UInt64](repeating: 0, count: (bits + 63) / 64)
        let m = UInt64(words.count * 64)
        for guild in guilds {
            GuildFilter.forEachBit(guild, m: m, k: GuildFilter.hashCount) { bit in
                words[Int(bit >> 6)] |= 1 << (bit & 63)
            }
        }
        self = .bloom(words: words, hashes: GuildFilter.hashCount)
    }

    /// False only if the batch certainly holds no record of `guild`.
    package func mayContain(_ guild: GuildID) -> Bool {
        switch self {
        case .exact(let guilds):
            var lo = 0
            var hi = guilds.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if guilds[mid] < guild { lo = mid + 1 } else { hi = mid }
            }
            return lo < guilds.count && guilds[lo] == guild
        case .bloom(let words, let k):
            let m = UInt64(words.count * 64)
            var all = true
            GuildFilter.forEachBit(guild, m: m, k: k) { bit in
                if words[Int(bit >> 6)] & (1 << (bit & 63)) == 0 { all = false }
            }
            return all
        }
    }

    /// Kirsch–Mitzenmacher double hashing over a 64-bit mix of the guild id.
    @inline(__always)
    static func forEachBit(_ guild: GuildID, m: UInt64, k: UInt8, _ body: (UInt64) -> Void) {
        let h = StableHash.mix64(guild.rawValue)
        let h1 = h & 0xFFFF_FFFF
        let h2 = (h >> 32) | 1
        for i in 0..<UInt64(k) { body((h1 &+ i &* h2) % m) }
    }
}
