import AsyncHTTPClient
public import Domain
import Foundation

/// Where the timers read a public randomness beacon's value for a round (see ``RaffleDrawing``).
public protocol RandomnessBeacon: Sendable {
    /// The 32-byte randomness of `round`, or nil when it is not published yet.
    func randomness(round: UInt64) async throws -> [UInt8]?
}

/// drand's HTTP API: `GET {relay}/{chain hash}/public/{round}` → `{"round": …, "randomness": "<hex>"}`.
///
/// Tally records the value as served; it does not check the round's BLS signature. Anyone verifying a
/// draw fetches the round from drand themselves (`docs/raffle-verification.md`), so a relay serving a
/// wrong value is caught by every verifier.
public struct DrandHTTPBeacon: RandomnessBeacon {
    /// The relay's base URL. Default `https://api.drand.sh`.
    public var relay: String
    public var chain: DrandChain

    public init(relay: String = "https://api.drand.sh", chain: DrandChain = .mainnet) {
        self.relay = relay
        self.chain = chain
    }

    struct Round: Decodable {
        var round: UInt64
        var randomness: String
    }

    public func randomness(round: UInt64) async throws -> [UInt8]? {
        let request = HTTPClientRequest(url: "\(relay)/\(chain.hash)/public/\(round)")
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        guard response.status == .ok else { return nil }
        let body = try await response.body.collect(upTo: 64 * 1024)
        let decoded = try JSONDecoder().decode(Round.self, from: Data(buffer: body))
        guard decoded.round == round else { return nil }
        return Self.bytes(hex: decoded.randomness).flatMap { $0.count == 32 ? $0 : nil }
    }

    /// Bytes of an even-length hex string; nil for anything else.
    static func bytes(hex: String) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(digits.count / 2)
        var i = 0
        while i < digits.count {
            guard let hi = nibble(digits[i]), let lo = nibble(digits[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x61...0x66: c - 0x61 + 10
        case 0x41...0x46: c - 0x41 + 10
        default: nil
        }
    }
}
