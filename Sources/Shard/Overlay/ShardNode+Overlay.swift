import Crypto
public import EventLog

extension ShardNode {
    /// The read-only key of `guild`'s overlays (see ``OverlayKind/key(secret:guild:)``).
    public nonisolated func overlayKey(for guild: GuildID) -> String {
        OverlayKind.key(secret: configuration.raffleSecret, guild: guild)
    }
}

extension OverlayKind {
    /// The read-only key of `guild`'s overlays: HMAC-SHA-256(deployment secret, "tally-overlay-key" ‖
    /// guild, 8 bytes big-endian), its first 16 bytes in hex. Derived, so never stored; it opens the
    /// overlays and nothing else.
    public static func key(secret: [UInt8], guild: GuildID) -> String {
        let message =
            Array("tally-overlay-key".utf8) + (0..<8).map { UInt8(truncatingIfNeeded: guild.rawValue >> (56 - 8 * $0)) }
        let mac = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: secret))
        return Array(mac).prefix(16).map { String(format: "%02x", $0) }.joined()
    }
}
