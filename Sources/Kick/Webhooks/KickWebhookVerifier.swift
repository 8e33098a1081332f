import Crypto
import EventLog
import Foundation
public import _CryptoExtras

/// Verifies Kick's webhook signatures: RSASSA-PKCS1-v1_5 with SHA-256 over
/// `<message id>.<timestamp>.<raw body>`, the header strings exactly as received, with Kick's
/// RSA public key. Nothing of a request is parsed before it verifies.
public struct KickWebhookVerifier: Sendable {
    public let publicKey: _RSA.Signing.PublicKey
    /// How old a message may be. Default 10 minutes.
    public var maximumAge: Duration = .seconds(600)
    /// How far in the future a message's timestamp may be (clock skew). Default 1 minute.
    public var maximumSkew: Duration = .seconds(60)

    /// - Throws: ``KickError`` `configuration` when `publicKeyPEM` is not an RSA public key of at least 2048 bits.
    public init(publicKeyPEM: String) throws {
        do { publicKey = try _RSA.Signing.PublicKey(pemRepresentation: publicKeyPEM) } catch {
            throw KickError(
                .configuration, "Kick's webhook public key is not an RSA public key in PEM", underlying: error)
        }
    }

    /// The signed headers of one delivery, as received.
    public struct SignedHeaders: Sendable {
        public var messageID: String?
        public var timestamp: String?
        public var signature: String?

        public init(messageID: String?, timestamp: String?, signature: String?) {
            self.messageID = messageID
            self.timestamp = timestamp
            self.signature = signature
        }
    }

    /// Checks `body` against the signed headers at `now` (milliseconds since the Unix epoch).
    ///
    /// - Returns: the message id (the delivery's idempotency key).
    /// - Throws: ``KickError`` `missingHeader`, `badSignature` or `stale`.
    public func verify(_ headers: SignedHeaders, body: some Collection<UInt8>, now: Int64) throws -> String {
        guard let id = headers.messageID, !id.isEmpty, let timestamp = headers.timestamp, !timestamp.isEmpty,
            let signature = headers.signature, !signature.isEmpty
        else {
            throw KickError(.missingHeader, "Kick-Event-Message-Id, -Message-Timestamp and -Signature are required")
        }
        guard let signatureBytes = Data(base64Encoded: signature), signatureBytes.count == 256 else {
            throw KickError(.badSignature, "the signature is not a Base64 RSA-2048 signature")
        }
        var signed = Data(id.utf8)
        signed.append(0x2E)
        signed.append(contentsOf: timestamp.utf8)
        signed.append(0x2E)
        signed.append(contentsOf: body)
        guard
            publicKey.isValidSignature(
                _RSA.Signing.RSASignature(rawRepresentation: signatureBytes), for: signed, padding: .insecurePKCS1v1_5)
        else { throw KickError(.badSignature, "the signature does not verify with Kick's public key") }
        // Only a verified timestamp is worth reading.
        guard let sent = RFC3339.milliseconds(timestamp) else {
            throw KickError(.stale, "the message timestamp is not RFC 3339")
        }
        let age = now - sent
        guard age <= maximumAge.milliseconds, -age <= maximumSkew.milliseconds else {
            throw KickError(
                .stale, "the message is \(age / 1000) s old; at most \(maximumAge.milliseconds / 1000) s is accepted")
        }
        return id
    }
}

extension Duration {
    var milliseconds: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }
}

/// RFC 3339 timestamps as Kick writes them (`2026-11-30T12:00:00Z`, fractions and offsets allowed).
public enum RFC3339 {
    /// Milliseconds since the Unix epoch, or nil when `text` is not RFC 3339.
    public static func milliseconds(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 20 else { return nil }
        func number(_ range: Range<Int>) -> Int64? {
            var v: Int64 = 0
            for i in range {
                guard i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 else { return nil }
                v = v * 10 + Int64(bytes[i] - 0x30)
            }
            return v
        }
        guard let y = number(0..<4), bytes[4] == 0x2D, let mo = number(5..<7), bytes[7] == 0x2D,
            let d = number(8..<10), bytes[10] == 0x54 || bytes[10] == 0x74 || bytes[10] == 0x20,
            let h = number(11..<13), bytes[13] == 0x3A, let mi = number(14..<16), bytes[16] == 0x3A,
            let s = number(17..<19), (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, s < 61
        else { return nil }
        var i = 19
        var millis: Int64 = 0
        if i < bytes.count, bytes[i] == 0x2E {
            i += 1
            var digits = 0
            while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 {
                if digits < 3 { millis = millis * 10 + Int64(bytes[i] - 0x30) }
                digits += 1
                i += 1
            }
            guard digits > 0 else { return nil }
            if digits < 3 { for _ in digits..<3 { millis *= 10 } }
        }
        guard i < bytes.count else { return nil }
        var offset: Int64 = 0
        switch bytes[i] {
        case 0x5A, 0x7A: i += 1
        case 0x2B, 0x2D:
            guard let oh = number(i + 1..<i + 3), i + 3 < bytes.count, bytes[i + 3] == 0x3A,
                let om = number(i + 4..<i + 6)
            else { return nil }
            offset = (oh * 60 + om) * 60_000 * (bytes[i] == 0x2B ? 1 : -1)
            i += 6
        default: return nil
        }
        guard i == bytes.count else { return nil }
        let days = Timestamp.days(year: y, month: mo, day: d)
        return ((days * 24 + h) * 60 + mi) * 60_000 + s * 1000 + millis - offset
    }
}
