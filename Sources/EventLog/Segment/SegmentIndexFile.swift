/// The on-disk index of one segment: a 16-byte header, then one entry per batch in file order.
///
/// The index is derived data: written after its batch is durable, never fsynced on its own except
/// when the segment is sealed, and rebuilt from the segment whenever it is missing or disagrees.
package enum SegmentIndexFile {
    package static let magic: [UInt8] = [0x54, 0x4C, 0x59, 0x49]  // "TLYI"
    package static let formatVersion: UInt8 = 1
    package static let headerSize = 16

    package static func header(baseOffset: Offset) -> [UInt8] {
        var out = ByteWriter(capacity: headerSize)
        out.write(bytes: magic)
        out.write(formatVersion)
        out.write(bytes: [0, 0, 0])
        out.write(baseOffset.rawValue)
        return out.bytes
    }

    /// The entries of the longest valid prefix of the index file: nil if the file is missing or its
    /// header does not match `baseOffset`.
    package static func load(path: String, baseOffset: Offset) -> [IndexEntry]? {
        guard let bytes = try? FileSystem.readAll(path) else { return nil }
        return decode(bytes, baseOffset: baseOffset)
    }

    /// The entries of the longest valid prefix of an index file's bytes: nil if its header does not
    /// match `baseOffset`.
    package static func decode(_ bytes: [UInt8], baseOffset: Offset) -> [IndexEntry]? {
        guard bytes.count >= headerSize, Array(bytes[0..<headerSize]) == header(baseOffset: baseOffset) else {
            return nil
        }
        return bytes.withUnsafeBytes { raw in
            var reader = ByteReader(raw, position: headerSize)
            var entries: [IndexEntry] = []
            while !reader.isAtEnd, let entry = IndexEntry.decode(&reader) { entries.append(entry) }
            return entries
        }
    }

    /// Writes a whole index afresh (after a rebuild or a truncation).
    package static func write(_ entries: [IndexEntry], path: String, baseOffset: Offset) throws {
        var out = ByteWriter(capacity: headerSize + entries.count * 80)
        out.write(bytes: header(baseOffset: baseOffset))
        for entry in entries { entry.encode(into: &out) }
        let file = try FileDescriptor(path: path, mode: .createReadWrite)
        try file.truncate(to: 0)
        try file.write(out.bytes, at: 0)
        try file.sync()
    }

    /// Whether `entries` describe `fileSize` bytes of batches exactly, back to back, from `baseOffset`.
    package static func covers(_ entries: [IndexEntry], baseOffset: Offset, fileSize: Int64) -> Bool {
        var position: Int64 = 0
        var offset = baseOffset
        for entry in entries {
            guard entry.position == position, entry.baseOffset == offset, entry.recordCount > 0 else { return false }
            position = entry.end
            offset = entry.nextOffset
        }
        return position == fileSize
    }
}
