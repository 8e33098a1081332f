import Crypto
import Foundation

/// OAuth 2.1 PKCE (RFC 7636) with the S256 method, as Kick requires.
public enum PKCE {
    /// A fresh verifier: 32 random bytes as unpadded base64url (43 characters).
    public static func makeVerifier() -> String {
        var rng = SystemRandomNumberGenerator()
        return base64url((0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) })
    }

    /// The S256 challenge of `verifier`: base64url(SHA-256(verifier)) without padding.
    public static func challenge(for verifier: String) -> String {
        base64url(Array(SHA256.hash(data: Data(verifier.utf8))))
    }

    /// Unpadded base64url.
    public static func base64url(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// Decodes unpadded base64url; nil for anything else.
    public static func unbase64url(_ text: String) -> [UInt8]? {
        guard text.utf8.allSatisfy({ $0 != 0x2B && $0 != 0x2F && $0 != 0x3D }) else { return nil }
        var s = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while s.utf8.count % 4 != 0 { s += "=" }
        return Data(base64Encoded: s).map(Array.init)
    }
}
