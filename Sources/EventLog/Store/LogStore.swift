public import Logging

/// Where partition logs are kept: a data directory of segment files (``FileLogStore``, the embedded
/// default for one machine) or a shared database (the `PostgresStore` module, for shards on many
/// machines).
///
/// A store hands out ``PartitionLogHandle``s, one writer per partition at a time, fenced by epochs, and
/// keeps each partition's snapshots beside its batches so that a new owner on any machine restores
/// from the newest snapshot plus the batches after it.
public protocol LogStore: Sendable {
    /// Where the store is, for messages: a directory path or a database URL without its password.
    var location: String { get }

    /// How many partitions the store was created with; fixed for its lifetime (it decides where a
    /// guild's events live).
    var partitionCount: Int { get }

    /// The partitions that have been written at least once (or acquired), ascending.
    ///
    /// - Throws: ``EventLogError`` `io` when the store cannot be listed.
    func existingPartitions() async throws -> [PartitionID]

    /// Takes `partition` for writing with at least `epoch`, fencing every older writer, and recovers
    /// it; the returned handle's ``PartitionLogHandle/epoch`` is the epoch its batches carry.
    ///
    /// - Throws: ``EventLogError`` `locked` (another writer holds it, where the store can tell),
    ///   `staleEpoch`, `corruption`, `io`.
    func openForWriting(
        partition: PartitionID, epoch: Epoch, configuration: PartitionLog.Configuration, logger: Logger
    ) async throws -> any PartitionLogHandle

    /// Opens `partition` for reading only, alongside any writer.
    ///
    /// - Throws: ``EventLogError`` `notFound` when the partition was never written, `corruption`, `io`.
    func openForReading(partition: PartitionID, logger: Logger) async throws -> any PartitionLogHandle

    /// Stores a snapshot of `partition`'s state as of `offset` (the offset after the last event it
    /// reflects), written by the owner holding `epoch`, and keeps only the two newest.
    ///
    /// - Throws: ``EventLogError`` `staleEpoch` when `epoch` no longer owns the partition (where the
    ///   store can tell), `io`.
    func writeSnapshot(_ bytes: [UInt8], partition: PartitionID, offset: Offset, epoch: Epoch) async throws

    /// The partition's snapshots, newest first. The bytes are not checked here: their reader skips one
    /// it cannot decode (the log is the truth).
    func snapshots(of partition: PartitionID) async throws -> [StoredSnapshot]
}

/// A snapshot as a store keeps it: opaque bytes and the offset they reflect.
public struct StoredSnapshot: Sendable, Equatable {
    /// The offset after the last event the snapshot reflects.
    public var offset: Offset
    public var bytes: [UInt8]

    public init(offset: Offset, bytes: [UInt8]) {
        self.offset = offset
        self.bytes = bytes
    }
}
