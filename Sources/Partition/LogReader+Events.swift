public import Domain
public import EventLog

extension LogReader {
    /// Calls `body` with each domain event the query selects, in order, stopping after the last
    /// event at or before `until`.
    ///
    /// - Throws: ``PartitionError`` with code `undecodable` for a record this build cannot decode,
    ///   the log's errors, and whatever `body` throws.
    public func forEachEvent(_ query: LogQuery, until: HistoryPoint? = nil, _ body: (StoredEvent) throws -> Void) throws
    {
        var query = query
        if case .offset(let o) = until { query.to = min(query.to ?? o, o) }
        do {
            try read(query) { record in
                let event: StoredEvent
                do { event = try EventCodec.decode(record) } catch let error as EventCodec.DecodeError {
                    throw PartitionError(
                        .undecodable,
                        "the record at offset \(record.offset) is not a domain event this build understands",
                        path: readerLocation, underlying: error)
                }
                if let until, !until.includes(event) { throw EndOfHistory() }
                try body(event)
            }
        } catch is EndOfHistory {
            return
        }
    }
}

/// Ends a read early once the history point is passed.
private struct EndOfHistory: Error {}
