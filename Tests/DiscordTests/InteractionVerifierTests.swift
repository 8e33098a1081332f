import Crypto
import EventLog
import Foundation
import Testing

@testable import Discord

/// Ed25519 verification of interactions, on the spec's test vector (RFC 8032 test 1 key).
@Suite struct InteractionVerifierTests {
    static let publicKey = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
    static let timestamp = "1700000000"
    static let body = Data(#"{"type":1}"#.utf8)
    static let signature =
        "1695961a47c91a1ec033b819b7e87e3dbc583dd0cee6d1fd0216f58ac87b6228ae531ddbf91fb7bc28d7edf7f08604da16f54624f38a6bc0614e4dc13cd47f0f"

    func verifies(
        signature: String? = signature, timestamp: String? = timestamp, body: Data = body, now: Int64 = 1_700_000_000
    )
        throws -> Bool
    {
        let verifier = try InteractionVerifier(publicKeyHex: Self.publicKey)
        do {
            try verifier.verify(signature: signature, timestamp: timestamp, body: body, now: now)
            return true
        } catch let error as DiscordError {
            #expect(error.code == .verification)
            return false
        }
    }

    @Test func theSpecVectorVerifies() throws {
        #expect(try verifies())
        // Upper-case hex is the same signature.
        #expect(try verifies(signature: Self.signature.uppercased()))
    }

    @Test func everySingleByteChangeToSignatureTimestampOrBodyIsRefused() throws {
        var refused = 0
        let signature = Array(Self.signature.utf8)
        let hexDigits = Array("0123456789abcdef".utf8)
        for i in signature.indices {
            // Every other hex digit at this position.
            for digit in hexDigits where digit != signature[i] {
                var changed = signature
                changed[i] = digit
                #expect(try !verifies(signature: String(decoding: changed, as: UTF8.self)), "signature \(i)")
                refused += 1
            }
        }
        let timestamp = Array(Self.timestamp.utf8)
        for i in timestamp.indices {
            for bit in 0..<8 {
                var changed = timestamp
                changed[i] ^= 1 << bit
                #expect(try !verifies(timestamp: String(decoding: changed, as: UTF8.self)), "timestamp \(i) bit \(bit)")
                refused += 1
            }
        }
        for i in Self.body.indices {
            for bit in 0..<8 {
                var changed = Self.body
                changed[i] ^= 1 << bit
                #expect(try !verifies(body: changed), "body \(i) bit \(bit)")
                refused += 1
            }
        }
        #expect(refused == 128 * 15 + 10 * 8 + 10 * 8)
    }

    @Test func missingMalformedOrTruncatedHeadersAreRefused() throws {
        #expect(try !verifies(signature: nil))
        #expect(try !verifies(timestamp: nil))
        #expect(try !verifies(signature: ""))
        #expect(try !verifies(signature: String(Self.signature.dropLast(2))))
        #expect(try !verifies(signature: Self.signature + "00"))
        #expect(try !verifies(signature: "zz" + Self.signature.dropFirst(2)))
        #expect(try !verifies(timestamp: " 1700000000"))
        #expect(try !verifies(timestamp: "+1700000000"))
        #expect(try !verifies(timestamp: "99999999999999999999999"))
        #expect(try !verifies(body: Data()))
        #expect(try !verifies(body: Self.body + Data(" ".utf8)))
    }

    @Test(arguments: [(-301, false), (-300, true), (0, true), (300, true), (301, false), (-100_000, false)])
    func timestampsMoreThan300SecondsAwayAreRefused(offset: Int64, accepted: Bool) throws {
        #expect(try verifies(now: 1_700_000_000 - offset) == accepted)
    }

    @Test func aKeyThatIsNotEd25519HexIsAConfigurationError() {
        for key in [
            "", "abc", String(Self.publicKey.dropLast(2)), Self.publicKey + "00", "g" + Self.publicKey.dropFirst(),
        ] {
            #expect(throws: DiscordError.self) { try InteractionVerifier(publicKeyHex: key) }
        }
    }

    @Test func signaturesFromAFreshKeyVerifyAndOthersDoNot() throws {
        let key = Curve25519.Signing.PrivateKey()
        let verifier = try InteractionVerifier(publicKeyHex: Hex.encode(key.publicKey.rawRepresentation))
        let body = Data(#"{"type":2,"id":"1"}"#.utf8)
        let signature = try key.signature(for: Data("1700000000".utf8) + body)
        try verifier.verify(signature: Hex.encode(signature), timestamp: "1700000000", body: body, now: 1_700_000_010)
        let other = try Curve25519.Signing.PrivateKey().signature(for: Data("1700000000".utf8) + body)
        #expect(throws: DiscordError.self) {
            try verifier.verify(signature: Hex.encode(other), timestamp: "1700000000", body: body, now: 1_700_000_010)
        }
    }
}
