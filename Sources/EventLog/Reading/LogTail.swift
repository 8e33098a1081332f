/// The batches of a partition from an offset on, as they become durable: an `AsyncSequence` that
/// reads from disk only when its consumer asks for the next batch, so a slow consumer holds nothing
/// in memory and never slows the writer (backpressure by pulling).
///
/// It ends when the log is closed or the task is cancelled. Reads run on a dedicated I/O pool.
public struct LogTail: AsyncSequence, Sendable {
    public typealias Element = LogBatch

    let log: PartitionLog
    let from: Offset

    public func makeAsyncIterator() -> Iterator { Iterator(log: log, position: from) }

    public struct Iterator: AsyncIteratorProtocol {
        let log: PartitionLog
        var position: Offset

        public mutating func next() async throws -> LogBatch? {
            while !Task.isCancelled {
                let log = self.log
                let start = position
                let batch = try await BlockingIOPool.shared.run { () -> LogBatch? in
                    var records: [StoredRecord] = []
                    var cursor = BatchCursor(log: log, query: LogQuery(from: start))
                    guard try cursor.next({ records.append(StoredRecord($0)) }) else { return nil }
                    return LogBatch(records: records, next: cursor.position, epoch: cursor.lastEpoch)
                }
                if let batch {
                    position = batch.nextOffset
                    if !batch.records.isEmpty { return batch }
                    continue
                }
                if log.state.values.withLock({ $0.closed }) { return nil }
                await log.state.waitForAppend(after: start)
            }
            return nil
        }
    }
}

/// One durable batch of a partition, with its records copied out.
public struct LogBatch: Sendable {
    public var records: [StoredRecord]
    /// The offset after this batch's last record.
    public var nextOffset: Offset
    /// The epoch of the writer that appended it.
    public var epoch: Epoch

    init(records: [StoredRecord], next: Offset, epoch: Epoch) {
        self.records = records
        self.nextOffset = next
        self.epoch = epoch
    }
}

extension PartitionLog {
    /// Every batch from `offset` on, waiting for new ones as they become durable.
    public func tail(from offset: Offset) -> LogTail { LogTail(log: self, from: offset) }
}
