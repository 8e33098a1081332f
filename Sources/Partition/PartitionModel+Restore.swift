public import Domain
public import EventLog

extension PartitionModel {
    /// Where a restore started and how much it replayed.
    public struct Restore: Sendable {
        public var model: PartitionModel
        /// The snapshot's offset, or zero when none was usable.
        public var snapshotOffset: Offset
        /// Events replayed from the log after the snapshot.
        public var replayed: Int
    }

    /// Rebuilds a partition's state from any store, on any machine: the newest snapshot at or below
    /// the log's end that decodes, then every event after it.
    ///
    /// - Throws: ``PartitionError`` `undecodable` for a record this build cannot decode; the store's
    ///   ``EventLog/EventLogError``s.
    public static func restore(
        from store: any LogStore, log: any PartitionLogHandle, globalDefaults: [SettingKey: Int64] = [:],
        remembersKeys: Bool = true
    ) async throws -> Restore {
        let end = log.endOffset
        var model =
            try await loadNewestSnapshot(
                from: store, partition: log.partition, end: end, globalDefaults: globalDefaults,
                remembersKeys: remembersKeys)
            ?? PartitionModel(globalDefaults: globalDefaults, remembersKeys: remembersKeys)
        let snapshotOffset = model.nextOffset
        var replayed = 0
        try await log.forEachRecord(LogQuery(from: snapshotOffset, to: end)) { record in
            do { model.apply(try EventCodec.decode(record)) } catch let error as EventCodec.DecodeError {
                throw PartitionError(
                    .undecodable, "the record at offset \(record.offset) is not a domain event this build understands",
                    path: store.location, underlying: error)
            }
            replayed += 1
        }
        model.advance(to: end)
        return Restore(model: model, snapshotOffset: snapshotOffset, replayed: replayed)
    }
}
