import Crypto
import EventLog
public import Foundation

/// Checks Discord's Ed25519 signature of an interaction before anything of it is parsed.
///
/// The signed bytes are the `X-Signature-Timestamp` header's bytes immediately followed by the raw
/// body. Every failure — a missing header, bad hex, a wrong length, a bad signature, a timestamp more
/// than ``window`` seconds away in either direction — is the same ``DiscordError`` `verification`,
/// which the HTTP edge answers 401.
public struct InteractionVerifier: Sendable {
    /// The key's 32 raw bytes (swift-crypto's key type is not `Sendable`; it is rebuilt per check,
    /// which copies 32 bytes).
    let publicKey: [UInt8]
    /// How far (seconds) a timestamp may be from now, either way. Default 300.
    public var window: Int64 = 300

    /// - Throws: ``DiscordError`` `configuration` when the key is not 64 hex characters of an Ed25519 key.
    public init(publicKeyHex: String) throws {
        guard let raw = Hex.decode(publicKeyHex), raw.count == 32,
            (try? Curve25519.Signing.PublicKey(rawRepresentation: raw)) != nil
        else { throw DiscordError(.configuration, "the Discord public key is not 64 hex characters") }
        publicKey = raw
    }

    /// Verifies `body` against the two signature headers.
    ///
    /// - Parameter now: Unix seconds.
    /// - Throws: ``DiscordError`` `verification`.
    public func verify(signature: String?, timestamp: String?, body: Data, now: Int64) throws {
        guard let signature, let timestamp else {
            throw DiscordError(.verification, "the signature headers are missing")
        }
        guard let bytes = Hex.decode(signature), bytes.count == 64 else {
            throw DiscordError(.verification, "the signature is not 128 hex characters")
        }
        let digits = timestamp.utf8
        guard (1...12).contains(digits.count), digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
            let seconds = Int64(timestamp)
        else { throw DiscordError(.verification, "the timestamp is not Unix seconds") }
        guard (seconds - now).magnitude <= window.magnitude else {
            throw DiscordError(.verification, "the timestamp is more than \(window) s away")
        }
        var signed = Data(timestamp.utf8)
        signed.append(body)
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey),
            key.isValidSignature(bytes, for: signed)
        else {
            throw DiscordError(.verification, "the signature does not verify")
        }
    }
}
