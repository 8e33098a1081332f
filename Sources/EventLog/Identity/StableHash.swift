/// The hash that places guilds in partitions. It is part of the on-disk format: changing it would
/// move guilds between partitions, so it never changes for an existing data directory.
public enum StableHash {
    /// SplitMix64's finaliser: a bijective, well-mixed 64-bit hash.
    @inlinable
    public static func mix64(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
