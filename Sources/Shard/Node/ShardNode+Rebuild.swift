public import EventLog
import Foundation
public import Projections

extension ShardNode {
    /// Where a partition's online rebuild stands.
    public struct RebuildProgress: Sendable {
        public enum Phase: String, Sendable, Codable {
            /// Folding the log from offset 0 into the new read models.
            case building
            /// Following the log, which moved on while building.
            case catchingUp = "catching_up"
            /// Waiting for the refresh lock and swapping (between two queries).
            case swapping
            /// Comparing the replaced read models with the new ones as of the swap.
            case comparing
            case done
        }

        public var partition: PartitionID
        public var phase: Phase
        /// Events applied to the new read models so far.
        public var applied: UInt64
        /// The offset the phase works towards.
        public var target: Offset
    }

    /// What one partition's online rebuild did.
    public struct PartitionRebuild: Sendable {
        public var partition: PartitionID
        /// The projections built from offset 0.
        public var projections: [ProjectionCatalog.Projection]
        /// Events applied to the new read models.
        public var events: UInt64
        /// The offset both read models reflected at the swap; the diff is as of this offset.
        public var offset: Offset
        /// The offset the replaced read models reflected: ``offset``, unless they could not follow the
        /// log (a projection whose columns changed), and then the diff includes what the events
        /// between the two did.
        public var oldOffset: Offset
        /// Who changed, old → new.
        public var diff: ReadModelDiff
        public var seconds: Double
    }

    /// The partitions this node serves now (acquired and not being released).
    public func servedPartitions() -> [PartitionID] {
        acquiredOwners().map(\.partition).filter(serves)
    }

    /// Rebuilds `partition`'s read models while the node keeps serving it: builds them from offset 0
    /// beside the live ones (on a thread of its own), follows the log until little is left, swaps
    /// them in between two queries, compares the replaced read models with the new ones as of the
    /// swap, and deletes the replaced ones.
    ///
    /// - Parameters:
    ///   - only: the projections to build from offset 0 (nil: all); the others are copied.
    ///   - progress: called from the rebuild's thread as it goes.
    /// - Throws: ``Projections/ProjectionsError`` `notFound` for an unknown projection; ``ShardError``
    ///   `unavailable` when the partition was released meanwhile (nothing was swapped); `storage`.
    public func rebuild(
        _ partition: PartitionID, only: Set<String>? = nil,
        progress: @escaping @Sendable (RebuildProgress) -> Void = { _ in }
    ) async throws -> PartitionRebuild {
        let started = ContinuousClock.now
        let side = try await readSide(of: partition)
        let (data, catalog, defaults, log) = (
            configuration.data, configuration.catalog, configuration.globalDefaults, side.log
        )
        let livePath = ReadModelStore.path(dataDirectory: data, partition: partition)
        let pool = ShardNode.maintenancePool
        var staged = try await pool.run {
            try StagedRebuild.start(
                data: data, partition: partition, log: log, livePath: livePath, catalog: catalog, only: only,
                globalDefaults: defaults
            ) { applied, end in
                progress(RebuildProgress(partition: partition, phase: .building, applied: applied, target: end))
            }
        }
        // The log moved on while building: follow it until little is left, so the swap (which holds
        // the refresh lock, making queries of this partition wait) applies only a short tail.
        var applied = staged.checkpoint.rawValue
        for _ in 0..<20 {
            let end = log.endOffset
            guard end.rawValue - staged.checkpoint.rawValue > ShardNode.swapTail, !Task.isCancelled else { break }
            progress(RebuildProgress(partition: partition, phase: .catchingUp, applied: applied, target: end))
            let before = staged
            staged = try await pool.run {
                var s = before
                try s.catchUp(to: end)
                return s
            }
            applied = staged.checkpoint.rawValue
        }
        guard !Task.isCancelled, isCurrent(side) else {
            staged.abandon()
            throw ShardError(
                .unavailable, "partition \(partition) was released or stopped during its rebuild; run it again")
        }
        progress(RebuildProgress(partition: partition, phase: .swapping, applied: applied, target: log.endOffset))
        let toSwap = staged
        let swap = try await pool.run { try side.swap(in: toSwap) }
        progress(RebuildProgress(partition: partition, phase: .comparing, applied: applied, target: swap.offset))
        let diff = try await pool.run { try swap.diff.compare() }
        // The replaced generation: queries still holding it read on from the open file.
        ReadModelStore.removeStaleGenerations(dataDirectory: data, partition: partition)
        progress(
            RebuildProgress(partition: partition, phase: .done, applied: swap.offset.rawValue, target: swap.offset))
        let elapsed = started.duration(to: .now)
        return PartitionRebuild(
            partition: partition, projections: staged.projections, events: swap.offset.rawValue, offset: swap.offset,
            oldOffset: swap.oldOffset, diff: diff,
            seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }

    /// Events the log may be ahead of a rebuild when it swaps (the swap applies them with queries
    /// of the partition waiting).
    static let swapTail: UInt64 = 2_000

    /// Rebuilds and backups run on a thread of their own, so a long fold or copy never holds up the
    /// I/O pool that queries and appends use.
    static let maintenancePool = BlockingIOPool(threads: 1, name: "tally-maintenance")
}
