import EventLog
import Foundation
import Partition

extension ShardNode {
    /// One partition as `GET /v1/admin/status` shows it.
    public struct PartitionStatus: Sendable, Codable, Equatable {
        public var partition: Int
        /// acquiring, serving, releasing, failed (or quarantined, where the node reports it).
        public var state: String
        public var epoch: UInt64?
        /// The offset after the last durable event.
        public var logEnd: UInt64?
        /// The offset the read models reflect (nil until the first query opened them).
        public var readModelsOffset: UInt64?
        /// Events the read models are behind the log (they catch up at the next query).
        public var readModelsLag: UInt64?
        /// Projections whose read models were built by another version (rebuild them).
        public var staleProjections: [String]
        /// Deliveries waiting for an outcome, by platform.
        public var outbox: [String: Int]
        /// The offset of the newest snapshot (nil: none yet).
        public var lastSnapshot: UInt64?

        enum CodingKeys: String, CodingKey {
            case partition, state, epoch, outbox
            case logEnd = "log_end", readModelsOffset = "read_models_offset", readModelsLag = "read_models_lag"
            case staleProjections = "stale_projections", lastSnapshot = "last_snapshot"
        }
    }

    /// Every partition this node holds or tries to hold, with its log end, read-model lag, outbox
    /// backlog and newest snapshot.
    public func status() async -> [PartitionStatus] {
        var out: [PartitionStatus] = []
        for (partition, state, owner) in partitionStates() {
            var row = PartitionStatus(
                partition: Int(partition.rawValue), state: state, staleProjections: [], outbox: [:])
            if let owner {
                let end = owner.log.endOffset.rawValue
                row.epoch = owner.epoch.rawValue
                row.logEnd = end
                for (_, delivery) in await owner.durableDeliveries() {
                    row.outbox[delivery.destination.platform.name, default: 0] += 1
                }
                if let side = openedReadSide(of: partition) {
                    let offset = side.checkpoint.rawValue
                    row.readModelsOffset = offset
                    row.readModelsLag = end >= offset ? end - offset : 0
                    row.staleProjections = side.staleProjections.withLock { $0 }
                }
            }
            if let shared = configuration.store {
                row.lastSnapshot = (try? await shared.snapshots(of: partition))?.first?.offset.rawValue
            } else {
                let snapshots = PartitionModel.snapshotDirectory(
                    partitionDirectory: configuration.data.directory(of: partition))
                row.lastSnapshot = ((try? FileManager.default.contentsOfDirectory(atPath: snapshots)) ?? [])
                    .compactMap { $0.hasSuffix(".snapshot") ? UInt64($0.dropLast(".snapshot".count)) : nil }.max()
            }
            out.append(row)
        }
        return out
    }
}
