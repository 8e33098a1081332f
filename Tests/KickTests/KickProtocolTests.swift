import Foundation
import Testing
import _CryptoExtras

@testable import Kick

@Suite struct KickProtocolTests {
    @Test func pkceChallengeMatchesTheSpecsVector() {
        #expect(
            PKCE.challenge(for: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
                == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
        let verifier = PKCE.makeVerifier()
        #expect(verifier.utf8.count == 43 && PKCE.unbase64url(verifier)?.count == 32)
        #expect(PKCE.makeVerifier() != verifier)
    }

    @Test(arguments: [
        ("2026-11-30T12:00:00Z", 1_796_040_000_000 as Int64?),
        ("2026-11-30T12:00:00.250Z", 1_796_040_000_250),
        ("2026-11-30T13:30:00+01:30", 1_796_040_000_000),
        ("2026-11-30T12:00:00.1234567Z", 1_796_040_000_123),
        ("2026-11-30 12:00:00Z", 1_796_040_000_000),
        ("2026-13-30T12:00:00Z", nil), ("2026-11-30T12:00:00", nil), ("yesterday", nil),
        ("2026-11-30T12:00:00Zjunk", nil),
    ])
    func rfc3339TimestampsParseExactlyAndRejectEverythingElse(text: String, expected: Int64?) {
        #expect(RFC3339.milliseconds(text) == expected)
    }

    @Test func linkTokensVerifyOnlyUnchangedUnexpiredAndWithTheRightKey() {
        let key = Array(repeating: UInt8(9), count: 32)
        let token = LinkToken(guild: 5_033_164_800_000_000_000, user: 1_100_000_000_000_000_001, expiresAt: 2_000)
        let text = token.signed(key: key)
        #expect(LinkToken(verifying: text, key: key, now: 1_999) == token)
        #expect(LinkToken(verifying: text, key: key, now: 2_000) == nil, "expired")
        #expect(LinkToken(verifying: text, key: Array(repeating: 8, count: 32), now: 0) == nil, "another key")
        let bytes = PKCE.unbase64url(text)!
        for i in bytes.indices {
            var flipped = bytes
            flipped[i] ^= 0x01
            #expect(LinkToken(verifying: PKCE.base64url(flipped), key: key, now: 0) == nil, "byte \(i)")
        }
    }

    @Test func aWebhookSignedWithTheKeyVerifiesAndAnyOtherKeyOrAgeIsRefused() throws {
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let other = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let verifier = try KickWebhookVerifier(publicKeyPEM: key.publicKey.pemRepresentation)
        let body = Data(#"{"is_live":true}"#.utf8)
        func signed(_ key: _RSA.Signing.PrivateKey, _ id: String, _ timestamp: String) throws
            -> KickWebhookVerifier.SignedHeaders
        {
            let signature = try key.signature(for: Data("\(id).\(timestamp).".utf8) + body, padding: .insecurePKCS1v1_5)
            return .init(
                messageID: id, timestamp: timestamp, signature: Data(signature.rawRepresentation).base64EncodedString())
        }
        let now: Int64 = 1_796_040_000_000
        #expect(try verifier.verify(try signed(key, "m1", "2026-11-30T12:00:00Z"), body: body, now: now) == "m1")
        #expect(throws: KickError.self) {
            try verifier.verify(try signed(other, "m1", "2026-11-30T12:00:00Z"), body: body, now: now)
        }
        #expect(throws: KickError.self) {
            try verifier.verify(try signed(key, "m1", "2026-11-30T11:49:59Z"), body: body, now: now)
        }
        #expect(throws: KickError.self) {
            try verifier.verify(.init(messageID: "m1", timestamp: nil, signature: "x"), body: body, now: now)
        }
        #expect(throws: KickError.self) { try KickWebhookVerifier(publicKeyPEM: "not a key") }
    }

    @Test func configurationNeedsEveryPartOrNone() throws {
        #expect(try KickConfiguration.fromEnvironment([:]) == nil)
        #expect(throws: KickError.self) { try KickConfiguration.fromEnvironment(["TALLY_KICK_CLIENT_ID": "x"]) }
        let full = try KickConfiguration.fromEnvironment([
            "TALLY_KICK_CLIENT_ID": "id", "TALLY_KICK_CLIENT_SECRET": "s3cret", "TALLY_KICK_BOT_TOKEN": "t0ken",
            "TALLY_KICK_PUBLIC_KEY": "pem",
        ])
        #expect(full?.clientSecret == "s3cret")
        #expect(
            full.map { !"\($0)".contains("s3cret") && !"\($0)".contains("t0ken") } == true, "secrets are never printed")
    }
}
