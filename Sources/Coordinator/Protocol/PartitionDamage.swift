public import EventLog

/// Where a quarantined partition's log is damaged: what `/health`, `GET /v1/cluster` and a
/// `partition_damaged` answer show, and what a shard reports in its heartbeat.
public struct PartitionDamage: Codable, Sendable, Hashable {
    public var partition: UInt32
    /// The damaged file.
    public var file: String
    /// The byte position of the damage in `file`.
    public var position: Int64
    /// What is wrong there.
    public var reason: String

    public init(partition: UInt32, file: String, position: Int64, reason: String) {
        self.partition = partition
        self.file = file
        self.position = position
        self.reason = reason
    }

    /// The damage `error` describes, if it is corruption of a partition's stored data.
    public init?(partition: PartitionID, error: any Error) {
        guard let error = error as? EventLogError, error.code == .corruption else { return nil }
        self.init(
            partition: partition.rawValue, file: error.path ?? "", position: error.position ?? 0,
            reason: error.message)
    }

    /// One line for messages and logs: `partition 0 is damaged in FILE at byte N: REASON`.
    public var summary: String {
        "partition \(partition) is damaged in \(file) at byte \(position): \(reason)"
    }
}
