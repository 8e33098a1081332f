import Crypto
public import EventLog

/// The provably fair slot pick, by the raffle's commit–reveal scheme (`docs/slot-verification.md`
/// states it byte by byte).
///
/// 1. When a round opens it commits to `SHA-256(seed)`; the seed is derived from the deployment's
///    secret (``seed(secret:guild:round:)``), so it exists before any request and is never stored.
/// 2. Pick `k` of the round (1, 2, …) takes the waiting requests in queue order, hashes their numbers
///    (``digest(_:)``), and draws an index with
///    `SHA-256(seed ‖ "tally-slots-v1" ‖ guild ‖ round ‖ k ‖ digest ‖ attempt)` (integers 8 bytes
///    big-endian, `attempt` from 0): the first 8 bytes as an unsigned big-endian `v`, redrawn while
///    `v` is in the biased tail (as the raffle's draw), index `v mod count`.
/// 3. Closing the round reveals the seed; anyone with the guild's events can then recompute every
///    pick of the round (``verify(guild:events:)``, `tally slots verify`).
public enum SlotPicking {
    /// HMAC-SHA-256(secret, "tally-slots-seed" ‖ guild ‖ round).
    public static func seed(secret: [UInt8], guild: GuildID, round: UInt32) -> [UInt8] {
        let message = Array("tally-slots-seed".utf8) + bigEndian(guild.rawValue) + bigEndian(UInt64(round))
        return Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: secret)))
    }

    public static func commitment(for seed: [UInt8]) -> [UInt8] { Array(SHA256.hash(data: seed)) }

    /// SHA-256 over the requests' numbers (4 bytes big-endian each), in queue order.
    public static func digest(_ requests: [SlotRequest]) -> [UInt8] {
        var hasher = SHA256()
        for request in requests {
            hasher.update(data: (0..<4).map { UInt8(truncatingIfNeeded: request.number >> (24 - 8 * $0)) })
        }
        return Array(hasher.finalize())
    }

    /// Pick `pick` of `round` among `candidates` (nil when there are none).
    public static func pick(
        guild: GuildID, round: UInt32, pick: UInt32, seed: [UInt8], candidates: [SlotRequest]
    ) -> SlotPick? {
        guard !candidates.isEmpty else { return nil }
        let digest = digest(candidates)
        let prefix =
            seed + Array("tally-slots-v1".utf8) + bigEndian(guild.rawValue) + bigEndian(UInt64(round))
            + bigEndian(UInt64(pick)) + digest
        let index = Int(RaffleDrawing.uniform(prefix, below: UInt64(candidates.count)))
        return SlotPick(
            round: round, pick: pick, request: candidates[index], candidates: UInt32(candidates.count),
            candidatesDigest: digest, index: UInt32(index))
    }

    /// One pick as the log shows it, and as it recomputes.
    public struct Check: Hashable, Sendable {
        public var announced: SlotPick
        public var commitment: [UInt8]
        /// The round's seed, once its close revealed it.
        public var seed: [UInt8]?
        public var seedMatchesCommitment: Bool
        /// Whether the waiting requests the log shows at the pick are the ones the pick names.
        public var candidatesMatch: Bool
        /// The pick recomputed from the revealed seed and the candidates (nil: seed not revealed yet).
        public var recomputed: SlotPick?

        /// Verified: the seed is revealed and matches, and the pick follows from it.
        public var matches: Bool {
            seedMatchesCommitment && candidatesMatch && recomputed == announced
        }
    }

    /// Replays a guild's events (in log order) and checks every slot pick.
    public static func verify(guild: GuildID, events: [DomainEvent]) -> [Check] {
        var queue: [SlotRequest] = []
        var commitments: [UInt32: [UInt8]] = [:]
        var seeds: [UInt32: [UInt8]] = [:]
        var picks: [(SlotPick, [SlotRequest])] = []
        for event in events {
            guard case .game(let game) = event else { continue }
            switch game {
            case .slotQueueOpened(let round, let commitment):
                commitments[round] = commitment
                queue = []
            case .slotQueueClosed(let round, let seed): seeds[round] = seed
            case .slotRequested(let request): queue.append(request)
            case .slotRequestSkipped(let number): queue.removeAll { $0.number == number }
            case .slotQueueCleared: queue = []
            case .slotPicked(let pick):
                picks.append((pick, queue))
                queue.removeAll { $0.number == pick.request.number }
            default: break
            }
        }
        return picks.map { pick, candidates in
            let commitment = commitments[pick.round] ?? []
            let seed = seeds[pick.round]
            return Check(
                announced: pick, commitment: commitment, seed: seed,
                seedMatchesCommitment: seed.map { self.commitment(for: $0) == commitment } ?? false,
                candidatesMatch: digest(candidates) == pick.candidatesDigest
                    && candidates.count == Int(pick.candidates),
                recomputed: seed.flatMap {
                    self.pick(guild: guild, round: pick.round, pick: pick.pick, seed: $0, candidates: candidates)
                })
        }
    }

    static func bigEndian(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> (56 - 8 * $0)) } }
}
