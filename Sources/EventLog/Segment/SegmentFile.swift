/// One segment of a partition log: the batch file `<base offset>.log` and its index
/// `<base offset>.index`, both named by the first offset they hold (20 decimal digits).
package final class SegmentFile: Sendable {
    package let baseOffset: Offset
    package let logPath: String
    package let indexPath: String
    /// Opened read-only; `pread` makes it safe to share between readers.
    package let reader: FileDescriptor

    package static let logSuffix = ".log"
    package static let indexSuffix = ".index"

    package init(directory: String, baseOffset: Offset) throws {
        self.baseOffset = baseOffset
        let stem = SegmentFile.stem(baseOffset)
        logPath = FileSystem.join(directory, stem + SegmentFile.logSuffix)
        indexPath = FileSystem.join(directory, stem + SegmentFile.indexSuffix)
        reader = try FileDescriptor(path: logPath, mode: .readOnly)
    }

    package static func stem(_ offset: Offset) -> String {
        let digits = String(offset.rawValue)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits
    }

    /// Creates the empty first segment of a new log (`000…0.log` and its index).
    package static func createFirst(in directory: String) throws {
        _ = try FileDescriptor(path: FileSystem.join(directory, stem(.zero) + logSuffix), mode: .createReadWrite)
        try SegmentIndexFile.write([], path: FileSystem.join(directory, stem(.zero) + indexSuffix), baseOffset: .zero)
    }

    /// The base offsets of the segments in a partition directory, ascending.
    package static func baseOffsets(in directory: String) throws -> [Offset] {
        try FileSystem.list(directory).compactMap { name -> Offset? in
            guard name.hasSuffix(logSuffix) else { return nil }
            let stem = name.dropLast(logSuffix.count)
            guard stem.count == 20, let value = UInt64(stem) else { return nil }
            return Offset(value)
        }.sorted()
    }

    /// Reads one whole batch (header and body) described by `entry` into `buffer`.
    package func readBatch(_ entry: IndexEntry, into buffer: inout [UInt8]) throws {
        let length = Int(entry.length)
        if buffer.count != length {
            if buffer.count < length {
                buffer.append(contentsOf: repeatElement(0, count: length - buffer.count))
            } else {
                buffer.removeLast(buffer.count - length)
            }
        }
        let n = try buffer.withUnsafeMutableBytes { raw in try reader.read(into: raw, at: entry.position) }
        guard n == length else {
            throw EventLogError(
                .corruption, "batch at offset \(entry.baseOffset) is cut short: \(n) of \(length) bytes",
                path: logPath, position: entry.position)
        }
    }
}
