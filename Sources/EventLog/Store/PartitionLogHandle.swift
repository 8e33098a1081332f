/// One partition's log as opened from a ``LogStore``, for writing or for reading: what a shard, a
/// projector or an operator's command needs, whatever keeps the batches.
///
/// Appends are group-committed and acknowledged once durable (for PostgreSQL: once the transaction
/// holding their batch committed). Reads return whole, verified batches in offset order.
public protocol PartitionLogHandle: AnyObject, Sendable {
    var partition: PartitionID { get }
    /// The epoch this handle writes with; nil for a read-only handle.
    var epoch: Epoch? { get }
    /// The offset the next appended record gets; every offset below it is readable. For a read-only
    /// handle, the end when it was opened.
    var endOffset: Offset { get }
    /// The first offset still stored.
    var startOffset: Offset { get }
    /// The newest epoch stamped in any batch, if any batch exists.
    var newestEpoch: Epoch? { get }

    /// Queues `records` as one append, synchronously, and calls `completion` once they are durable or
    /// have failed. Appends get offsets in the order `enqueue` is called.
    func enqueue(_ records: [Record], completion: @escaping @Sendable (Result<Range<Offset>, EventLogError>) -> Void)

    /// Appends `records` as one unit and returns their offsets once they are durable.
    func append(_ records: [Record]) async throws -> Range<Offset>

    /// Reads up to `maxBatches` batches the query selects, from `query.from` on, each verified
    /// against its checksum, and returns their selected records and where to go on.
    ///
    /// - Throws: ``EventLogError`` `corruption` naming the damaged batch, `io`.
    func readPage(_ query: LogQuery, maxBatches: Int) async throws -> LogPage

    /// Suspends until every record below `end` is durable (and readable); false if the log closes
    /// or its writer fails first, so those records may never become durable.
    func waitUntilDurable(below end: Offset) async -> Bool

    /// Finishes queued appends and releases the partition (for a writer).
    func close() async
}

/// Part of a read: the records of a few batches and where the read goes on.
public struct LogPage: Sendable {
    public var records: [StoredRecord]
    /// The offset to read from next.
    public var next: Offset
    /// True when no selected batch remains below the read's end.
    public var isLast: Bool
    public var statistics: ReadStatistics

    public init(records: [StoredRecord], next: Offset, isLast: Bool, statistics: ReadStatistics) {
        self.records = records
        self.next = next
        self.isLast = isLast
        self.statistics = statistics
    }
}

extension PartitionLogHandle {
    /// Calls `body` with every record the query selects, in offset order, a page of batches at a time.
    ///
    /// - Throws: the log's errors and whatever `body` throws.
    @discardableResult
    public func forEachRecord(
        _ query: LogQuery, batchesPerPage: Int = 64, _ body: (StoredRecord) throws -> Void
    ) async throws -> ReadStatistics {
        var query = query
        var total = ReadStatistics()
        if query.to == nil { query.to = endOffset }
        while query.limit > 0 {
            let page = try await readPage(query, maxBatches: batchesPerPage)
            total.batchesRead += page.statistics.batchesRead
            total.batchesSkipped += page.statistics.batchesSkipped
            total.bytesRead += page.statistics.bytesRead
            total.records += page.records.count
            for record in page.records { try body(record) }
            if page.isLast { break }
            query.from = page.next
            query.limit -= page.records.count
        }
        return total
    }

    /// The records the query selects, copied out of their batches.
    public func collect(_ query: LogQuery) async throws -> [StoredRecord] {
        var out: [StoredRecord] = []
        try await forEachRecord(query) { out.append($0) }
        return out
    }
}
