import Crypto
import Foundation

/// A signed, expiring request to link one Discord user of one guild to a Kick account — what
/// `/link` in Discord (or `tally link url`) hands a viewer, and `GET /v1/link/start?token=…` checks.
///
/// The token is base64url of guild (8 bytes) ‖ user (8) ‖ expiry in Unix ms (8) ‖ the first 16 bytes
/// of HMAC-SHA-256 over those 24 bytes with the deployment's link key.
public struct LinkToken: Sendable, Equatable {
    public var guild: UInt64
    public var user: UInt64
    /// Milliseconds since the Unix epoch.
    public var expiresAt: Int64

    public init(guild: UInt64, user: UInt64, expiresAt: Int64) {
        self.guild = guild
        self.user = user
        self.expiresAt = expiresAt
    }

    /// The token's text, signed with `key`.
    public func signed(key: [UInt8]) -> String {
        let body = fields
        let mac = Array(HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: key))).prefix(16)
        return PKCE.base64url(body + mac)
    }

    /// The token `text` carries, if its signature is valid and it has not expired at `now`.
    public init?(verifying text: String, key: [UInt8], now: Int64) {
        guard text.utf8.count <= 64, let bytes = PKCE.unbase64url(text), bytes.count == 40 else { return nil }
        let body = Array(bytes[0..<24])
        let mac = Array(HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: key))).prefix(16)
        // Constant time: every byte is compared whatever the first difference.
        var difference: UInt8 = 0
        for (a, b) in zip(mac, bytes[24...]) { difference |= a ^ b }
        guard difference == 0 else { return nil }
        func field(_ i: Int) -> UInt64 { body[i..<i + 8].reduce(0) { $0 << 8 | UInt64($1) } }
        self.init(guild: field(0), user: field(8), expiresAt: Int64(bitPattern: field(16)))
        guard expiresAt > now else { return nil }
    }

    private var fields: [UInt8] {
        [guild, user, UInt64(bitPattern: expiresAt)].flatMap { v in
            (0..<8).map { UInt8(truncatingIfNeeded: v >> (56 - 8 * $0)) }
        }
    }
}
