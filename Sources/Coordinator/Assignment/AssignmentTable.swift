public import EventLog

/// Which shard owns which partition, with the epoch of each grant: a pure state machine.
///
/// Events (a shard joins or heartbeats, its lease expires, an owner finishes releasing) return
/// ``Action``s for the coordinator to carry out; nothing here does I/O, so tests drive it directly
/// and the coordinator persists it as a value (a restart reloads it and moves nothing).
///
/// Assignment is balanced and sticky:
/// - a partition with no live owner goes at once to the least-loaded live shard, with a new epoch;
/// - otherwise partitions move only to even out load, one at a time from the most to the least
///   loaded shard, at most ``Configuration/maxMovesPerRound`` per event; so a joining shard takes
///   about P/N partitions, evenly from the others, a lost shard's partitions spread over the
///   survivors, and nothing else moves;
/// - a move from a live owner is a handoff: the owner is asked to release (finish in-flight
///   appends, snapshot, unlock); only when it has, the epoch rises and the new owner acquires.
public struct AssignmentTable: Sendable, Hashable, Codable {
    public struct Configuration: Sendable, Hashable, Codable {
        public var partitionCount: Int
        /// A shard that has not heartbeated for this long is lost. Default 5 s.
        public var leaseMilliseconds: Int64 = 5_000
        /// Rebalancing moves started per event (orphans are always reassigned at once). Default 16.
        public var maxMovesPerRound: Int = 16

        public init(partitionCount: Int) {
            precondition(partitionCount > 0)
            self.partitionCount = partitionCount
        }
    }

    /// Who has a partition.
    public enum Ownership: Sendable, Hashable, Codable {
        case unassigned
        case owned(ShardID)
        /// `from` has been asked to release it; `to` acquires it once it has.
        case releasing(from: ShardID, to: ShardID)
    }

    public struct Entry: Sendable, Hashable, Codable {
        public var ownership: Ownership
        /// The epoch of the latest grant (0 before the first).
        public var epoch: Epoch

        public init(ownership: Ownership, epoch: Epoch) {
            self.ownership = ownership
            self.epoch = epoch
        }
    }

    /// What the coordinator must do.
    public enum Action: Sendable, Hashable {
        /// Tell `shard` to take `partition` with `epoch`.
        case acquire(PartitionID, ShardID, Epoch)
        /// Tell `shard` to release `partition`, then report back with ``AssignmentTable/released(_:by:now:)``.
        case release(PartitionID, ShardID)
    }

    public let configuration: Configuration
    public private(set) var entries: [Entry]
    /// Live shards and when their lease expires (milliseconds).
    public private(set) var leases: [ShardID: Int64] = [:]

    public init(configuration: Configuration) {
        self.configuration = configuration
        entries = Array(repeating: Entry(ownership: .unassigned, epoch: Epoch(0)), count: configuration.partitionCount)
    }

    /// A table as a store kept it: one entry per partition and the live shards' lease expiries.
    ///
    /// - Precondition: `entries` has one entry per partition of `configuration`.
    package init(configuration: Configuration, entries: [Entry], leases: [ShardID: Int64]) {
        precondition(entries.count == configuration.partitionCount, "one entry per partition")
        self.configuration = configuration
        self.entries = entries
        self.leases = leases
    }

    // MARK: Events

    /// A shard registers or heartbeats: its lease is renewed and the table rebalanced.
    public mutating func heartbeat(_ shard: ShardID, now: Int64) -> [Action] {
        leases[shard] = now + configuration.leaseMilliseconds
        return expireLeases(now: now)
    }

    /// Expires lost shards and rebalances.
    public mutating func expireLeases(now: Int64) -> [Action] {
        for (shard, expiry) in leases where expiry <= now { leases.removeValue(forKey: shard) }
        return rebalance()
    }

    /// A coordinator takes over (from one that died or was cut off): every shard the table holds
    /// as live gets a full lease from `now` (a lease ending later is kept), and nothing moves.
    ///
    /// The shards heartbeated to the previous coordinator, not to this one; expiring them on the
    /// leases it saved would reassign every partition because of the takeover itself. A shard that
    /// is really gone expires one lease after the takeover instead.
    public mutating func renewAllLeases(now: Int64) {
        for (shard, expiry) in leases { leases[shard] = max(expiry, now + configuration.leaseMilliseconds) }
    }

    /// A shard leaves on purpose (after releasing what it owned): same as losing it.
    public mutating func shardLeft(_ shard: ShardID) -> [Action] {
        leases.removeValue(forKey: shard)
        return rebalance()
    }

    /// `shard` finished releasing `partition`: the next owner acquires it with a new epoch.
    public mutating func released(_ partition: PartitionID, by shard: ShardID, now: Int64) -> [Action] {
        let i = Int(partition.rawValue)
        guard i < entries.count, case .releasing(let from, let to) = entries[i].ownership, from == shard else {
            return []
        }
        let target = leases[to] != nil ? to : leastLoaded()
        guard let target else {
            entries[i].ownership = .unassigned
            return []
        }
        return [grant(i, to: target)] + rebalance()
    }

    // MARK: Queries

    public func owner(of partition: PartitionID) -> ShardID? {
        if case .owned(let s) = entries[Int(partition.rawValue)].ownership { return s }
        return nil
    }

    /// Partitions per live shard, counting incoming handoffs for their destination.
    public var load: [ShardID: Int] {
        var load = Dictionary(uniqueKeysWithValues: leases.keys.map { ($0, 0) })
        for e in entries {
            switch e.ownership {
            case .owned(let s): if load[s] != nil { load[s]! += 1 }
            case .releasing(_, let to): if load[to] != nil { load[to]! += 1 }
            case .unassigned: break
            }
        }
        return load
    }

    // MARK: Balancing

    private mutating func rebalance() -> [Action] {
        var actions: [Action] = []
        guard !leases.isEmpty else { return actions }
        // 1. Partitions without a live owner go to the least-loaded live shard now.
        for i in entries.indices {
            switch entries[i].ownership {
            case .unassigned:
                actions.append(grant(i, to: leastLoaded()!))
            case .owned(let s) where leases[s] == nil:
                actions.append(grant(i, to: leastLoaded()!))
            case .releasing(let from, let to) where leases[from] == nil:
                // The releasing owner is gone; its lease expiry is the release.
                actions.append(grant(i, to: leases[to] != nil ? to : leastLoaded()!))
            default:
                break
            }
        }
        // 2. Even out load: move from the most to the least loaded while they differ by more than one.
        var moves = 0
        while moves < configuration.maxMovesPerRound {
            let load = self.load
            guard let (most, high) = load.max(by: { ($0.value, $1.key) < ($1.value, $0.key) }),
                let (least, low) = load.min(by: { ($0.value, $0.key) < ($1.value, $1.key) }),
                high - low > 1,
                let i = entries.indices.last(where: { entries[$0].ownership == .owned(most) })
            else { break }
            entries[i].ownership = .releasing(from: most, to: least)
            actions.append(.release(PartitionID(UInt32(i)), most))
            moves += 1
        }
        return actions
    }

    private func leastLoaded() -> ShardID? {
        load.min(by: { ($0.value, $0.key) < ($1.value, $1.key) })?.key
    }

    private mutating func grant(_ i: Int, to shard: ShardID) -> Action {
        entries[i].epoch = entries[i].epoch.next
        entries[i].ownership = .owned(shard)
        return .acquire(PartitionID(UInt32(i)), shard, entries[i].epoch)
    }
}
