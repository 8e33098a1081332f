import AsyncHTTPClient
public import Domain
import EventLog
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
        return Hex.decode(decoded.randomness).flatMap { $0.count == 32 ? $0 : nil }
    }
}
