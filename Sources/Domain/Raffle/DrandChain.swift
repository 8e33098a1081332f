public import EventLog

/// A drand chain: the public randomness beacon raffle draws mix in (see ``RaffleDrawing``).
///
/// Round `r` of a chain is published at `genesis + (r − 1) × period` seconds. Its `randomness` is
/// SHA-256 of the round's BLS signature, 32 bytes, served at `GET {relay}/{chain hash}/public/{round}`.
public struct DrandChain: Hashable, Sendable {
    /// The chain's name in published tables.
    public var name: String
    /// The chain hash, hex.
    public var hash: String
    /// Unix seconds of round 1.
    public var genesis: Int64
    /// Seconds between rounds.
    public var periodSeconds: Int64

    /// drand's default mainnet chain (League of Entropy): genesis 1595431050, a round every 30 s.
    public static let mainnet = DrandChain(
        name: "drand-mainnet", hash: "8990e7a9aaed2ffed73dbd7092123d6f289930540d7651336225dc172e51b2ce",
        genesis: 1_595_431_050, periodSeconds: 30)

    /// The first round published strictly after `time`: nobody, the operator included, can know its
    /// value before then. Nil when the arithmetic would overflow (a time far outside any real period).
    public func round(after time: Timestamp) -> UInt64? {
        let genesisMs = genesis * 1000
        let periodMs = periodSeconds * 1000
        guard time.rawValue >= genesisMs else { return 1 }
        let (elapsed, o1) = time.rawValue.subtractingReportingOverflow(genesisMs)
        guard !o1 else { return nil }
        // time(r) = genesis + (r − 1) × period > time  ⇔  r − 1 > elapsed / period.
        let (r, o2) = (elapsed / periodMs).addingReportingOverflow(2)
        guard !o2 else { return nil }
        return UInt64(r)
    }

    /// When `round` is published; nil when it would overflow.
    public func time(of round: UInt64) -> Timestamp? {
        guard round >= 1, round <= UInt64(Int64.max) else { return nil }
        let (steps, o1) = Int64(round - 1).multipliedReportingOverflow(by: periodSeconds * 1000)
        let (ms, o2) = steps.addingReportingOverflow(genesis * 1000)
        guard !o1, !o2 else { return nil }
        return Timestamp(milliseconds: ms)
    }
}
