extension PartitionLog {
    /// Calls `body` with every record the query selects, in offset order.
    ///
    /// Every batch read is checked against its checksum and its index entry. Blocks on file I/O.
    ///
    /// - Throws: ``EventLogError`` with code `corruption` naming the segment file and byte position
    ///   of a damaged batch, or `io`; and whatever `body` throws.
    /// - Complexity: O(batches in range) index checks, plus reading and decoding only the batches
    ///   that may hold matching records.
    @discardableResult
    public func read(_ query: LogQuery, _ body: (RecordView) throws -> Void) throws -> ReadStatistics {
        var cursor = BatchCursor(log: self, query: query)
        while try cursor.next(body) {}
        return cursor.statistics
    }

    /// The records the query selects, copied out of their batches.
    public func records(_ query: LogQuery) throws -> [StoredRecord] {
        var out: [StoredRecord] = []
        try read(query) { out.append(StoredRecord($0)) }
        return out
    }

    /// The first offset of the first batch holding a record at or after `timestamp`, or the end.
    public func offset(atOrAfter timestamp: Timestamp) -> Offset {
        var from = startOffset
        while true {
            switch state.lookup(from, guild: nil, since: timestamp, limit: nil) {
            case .batch(_, let entry, _): return entry.baseOffset
            case .skipped(let to, _): from = to
            case .end: return endOffset
            }
        }
    }
}

/// Walks the batches a query selects, one at a time, with reusable buffers.
package struct BatchCursor {
    let log: PartitionLog
    var query: LogQuery
    var position: Offset
    let end: Offset
    var statistics = ReadStatistics()
    /// The epoch of the batch read last.
    package private(set) var lastEpoch = Epoch(0)
    private var buffer: [UInt8] = []
    private var decoder = BatchDecoder()

    package init(log: PartitionLog, query: LogQuery) {
        self.log = log
        self.query = query
        self.position = max(query.from, log.startOffset)
        self.end = min(query.to ?? log.endOffset, log.endOffset)
    }

    /// Reads the next selected batch and calls `body` with its selected records; false at the end.
    package mutating func next(_ body: (RecordView) throws -> Void) throws -> Bool {
        while statistics.records < query.limit {
            switch log.state.lookup(position, guild: query.guild, since: query.since, limit: end) {
            case .end(let skipped):
                statistics.batchesSkipped += skipped
                return false
            case .skipped(let to, let skipped):
                statistics.batchesSkipped += skipped
                position = to
            case .batch(let file, let entry, let skipped):
                statistics.batchesSkipped += skipped
                try readBatch(file, entry, body)
                position = entry.nextOffset
                return true
            }
        }
        return false
    }

    private mutating func readBatch(_ file: SegmentFile, _ entry: IndexEntry, _ body: (RecordView) throws -> Void)
        throws
    {
        try file.readBatch(entry, into: &buffer)
        statistics.batchesRead += 1
        lastEpoch = entry.epoch
        statistics.bytesRead += buffer.count
        let from = position
        let stop = end
        let guild = query.guild
        let since = query.since
        let limit = query.limit
        var yielded = statistics.records
        let header: BatchHeader
        do {
            header = try buffer.withUnsafeBytes { raw in
                try decoder.decode(raw) { record in
                    guard record.offset >= from, record.offset < stop, yielded < limit else { return }
                    if let guild, record.guild != guild { return }
                    if let since, record.timestamp < since { return }
                    yielded += 1
                    try body(record)
                }
            }
        } catch let failure as BatchDecoder.Failure {
            throw EventLogError(
                .corruption, "batch at offset \(entry.baseOffset) is damaged: \(failure.reason)", path: file.logPath,
                position: entry.position)
        }
        statistics.records = yielded
        guard header.baseOffset == entry.baseOffset, header.recordCount == entry.recordCount,
            header.epoch == entry.epoch
        else {
            throw EventLogError(
                .corruption,
                "batch header (offset \(header.baseOffset), \(header.recordCount) records) disagrees with its index entry (offset \(entry.baseOffset), \(entry.recordCount) records)",
                path: file.logPath, position: entry.position)
        }
    }
}
