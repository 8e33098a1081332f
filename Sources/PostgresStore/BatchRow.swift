import EventLog
import NIOCore

/// The columns of one `tally_batches` row, as bound in the append statement.
struct BatchRow {
    let baseOffset: Int64
    let lastOffset: Int64
    let recordCount: Int32
    let epoch: Int64
    let minTime: Int64
    let maxTime: Int64
    /// The batch's distinct guilds when it has at most ``GuildFilter/exactLimit`` of them, else nil.
    let guilds: [Int64]?
    /// The Bloom filter over its guilds otherwise.
    let bloomWords: [Int64]?
    let bloomHashes: Int16?
    let bytes: ByteBuffer

    init(summary: BatchEncoder.Summary, bytes: [UInt8]) {
        self.init(
            entry: IndexEntry(
                header: summary.header, position: 0, filter: summary.filter, minTimestamp: summary.minTimestamp,
                maxTimestamp: summary.maxTimestamp), bytes: bytes)
    }

    /// The row of a batch a segment index describes.
    init(entry: IndexEntry, bytes: [UInt8]) {
        baseOffset = Int64(entry.baseOffset.rawValue)
        lastOffset = Int64(entry.nextOffset.rawValue) - 1
        recordCount = Int32(entry.recordCount)
        epoch = Int64(entry.epoch.rawValue)
        minTime = entry.minTimestamp.rawValue
        maxTime = entry.maxTimestamp.rawValue
        switch entry.filter {
        case .exact(let list):
            guilds = list.map { Int64(bitPattern: $0.rawValue) }
            bloomWords = nil
            bloomHashes = nil
        case .bloom(let words, let k):
            guilds = nil
            bloomWords = words.map { Int64(bitPattern: $0) }
            bloomHashes = Int16(k)
        }
        self.bytes = ByteBuffer(bytes: bytes)
    }
}
