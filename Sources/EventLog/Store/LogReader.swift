import Foundation

/// A partition's log read synchronously, on a thread that may block (the ``BlockingIOPool``'s, or a
/// thread of its own — never one of Swift's cooperative threads): what projectors, audit pages and
/// history scans fold.
///
/// A ``PartitionLog`` is one (it reads its segment files in place); any other
/// ``PartitionLogHandle`` is read through ``PartitionLogHandle/blockingReader()``, which waits for
/// its pages of batches.
public protocol LogReader: Sendable {
    var partition: PartitionID { get }
    /// The offset after the last durable record: what a read without `to` stops at.
    var endOffset: Offset { get }
    /// Where the log is, for messages: its directory, or the store's location.
    var readerLocation: String { get }

    /// Calls `body` with every record the query selects, in offset order, each batch verified
    /// against its checksum. Blocks.
    ///
    /// - Throws: ``EventLogError`` `corruption` naming the damaged batch, `io`; and whatever `body` throws.
    @discardableResult
    func read(_ query: LogQuery, _ body: (RecordView) throws -> Void) throws -> ReadStatistics
}

extension PartitionLog: LogReader {
    public var readerLocation: String { directory }
}

extension PartitionLogHandle {
    /// This log as a ``LogReader``: itself for a ``PartitionLog``, otherwise a reader that waits for
    /// the handle's pages on the calling thread (which must be allowed to block).
    public func blockingReader() -> any LogReader {
        if let files = self as? PartitionLog { return files }
        return BlockingHandleReader(handle: self)
    }
}

/// Reads an asynchronous ``PartitionLogHandle`` from a thread that may block: each page of batches
/// is fetched by a task while the thread waits for it.
final class BlockingHandleReader: LogReader {
    let handle: any PartitionLogHandle
    /// Batches fetched per page.
    let batchesPerPage = 64

    init(handle: any PartitionLogHandle) { self.handle = handle }

    var partition: PartitionID { handle.partition }
    var endOffset: Offset { handle.endOffset }
    var readerLocation: String { "partition \(handle.partition)" }

    func read(_ query: LogQuery, _ body: (RecordView) throws -> Void) throws -> ReadStatistics {
        var query = query
        var total = ReadStatistics()
        if query.to == nil { query.to = handle.endOffset }
        while query.limit > 0 {
            let page = try waitForPage(query)
            total.batchesRead += page.statistics.batchesRead
            total.batchesSkipped += page.statistics.batchesSkipped
            total.bytesRead += page.statistics.bytesRead
            total.records += page.records.count
            for stored in page.records {
                try stored.record.payload.withUnsafeBytes { payload in
                    try body(
                        RecordView(
                            offset: stored.offset, guild: stored.record.guild, sequence: stored.record.sequence,
                            timestamp: stored.record.timestamp, type: stored.record.type,
                            typeVersion: stored.record.typeVersion, payload: payload))
                }
            }
            if page.isLast { break }
            query.from = page.next
            query.limit -= page.records.count
        }
        return total
    }

    /// Fetches one page in a task and blocks this thread until it arrives.
    private func waitForPage(_ query: LogQuery) throws -> LogPage {
        let box = PageBox()
        let (handle, batches) = (self.handle, batchesPerPage)
        Task {
            do { box.put(.success(try await handle.readPage(query, maxBatches: batches))) } catch {
                box.put(.failure(error))
            }
        }
        return try box.take().get()
    }
}

/// One page handed from a task to the blocked thread.
private final class PageBox: @unchecked Sendable {
    private let condition = NSCondition()
    private var result: Result<LogPage, any Error>?  // guarded by `condition`

    func put(_ value: Result<LogPage, any Error>) {
        condition.lock()
        result = value
        condition.signal()
        condition.unlock()
    }

    func take() -> Result<LogPage, any Error> {
        condition.lock()
        defer { condition.unlock() }
        while result == nil { condition.wait() }
        return result!
    }
}
