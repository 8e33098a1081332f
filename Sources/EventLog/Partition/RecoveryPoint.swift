/// The partition's durable recovery point (like Kafka's recovery-point checkpoint): an offset below
/// which every record is known to be on disk, because it was fsynced before the point was written.
///
/// Recovery never truncates below it: damage there is corruption of acknowledged data (the caller
/// quarantines the partition), not a torn write. Above it, a damaged tail that no index entry and no
/// later valid batch vouches for is still cut as torn.
///
/// The file `recovery-point` holds two 32-byte slots written alternately, each: `54 4C 59 52`
/// ("TLYR"), version `1`, three zero bytes, a sequence number (UInt64), the offset (UInt64), and a
/// CRC-32C of the slot's first 24 bytes followed by four zero bytes. A write overwrites the older
/// slot in place and `fdatasync`s, so a torn write leaves the other slot readable; the valid slot with
/// the higher sequence number wins.
package struct RecoveryPoint: Equatable, Sendable {
    package static let fileName = "recovery-point"
    static let magic: [UInt8] = [0x54, 0x4C, 0x59, 0x52]  // "TLYR"
    static let version: UInt8 = 1
    static let slotSize = 32

    /// Every record below this offset is durable.
    package var offset: Offset
    /// Which write this was; the newer of the two slots wins.
    package var sequence: UInt64

    package init(offset: Offset, sequence: UInt64) {
        self.offset = offset
        self.sequence = sequence
    }

    package static func path(in directory: String) -> String { FileSystem.join(directory, fileName) }

    func encode() -> [UInt8] {
        var out = ByteWriter(capacity: RecoveryPoint.slotSize)
        out.write(bytes: RecoveryPoint.magic)
        out.write(RecoveryPoint.version)
        out.write(bytes: [0, 0, 0])
        out.write(sequence)
        out.write(offset.rawValue)
        out.write(CRC32C.checksum(out.bytes))
        out.write(UInt32(0))
        return out.bytes
    }

    static func decode(_ slot: UnsafeRawBufferPointer) -> RecoveryPoint? {
        guard slot.count >= slotSize, Array(slot[0..<4]) == magic, slot[4] == version else { return nil }
        let crc = UInt32(littleEndian: slot.loadUnaligned(fromByteOffset: 24, as: UInt32.self))
        guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: slot[0..<24])) == crc else { return nil }
        return RecoveryPoint(
            offset: Offset(UInt64(littleEndian: slot.loadUnaligned(fromByteOffset: 16, as: UInt64.self))),
            sequence: UInt64(littleEndian: slot.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
    }

    /// The newest valid slot of a recovery-point file's bytes, if any.
    package static func decode(file bytes: [UInt8]) -> RecoveryPoint? {
        bytes.withUnsafeBytes { raw in
            var best: RecoveryPoint?
            var start = 0
            while start + slotSize <= raw.count {
                if let point = decode(UnsafeRawBufferPointer(rebasing: raw[start..<start + slotSize])),
                    point.sequence >= best?.sequence ?? 0
                {
                    best = point
                }
                start += slotSize
            }
            return best
        }
    }

    /// Reads the partition's recovery point; nil when there is none, or when neither slot is valid
    /// (the first write was torn, or both slots rotted): then recovery knows nothing durable beyond
    /// what the sealed segments and the index vouch for, as before recovery points existed.
    ///
    /// - Throws: ``EventLogError`` `io` when the file exists but cannot be read.
    package static func load(directory: String) throws -> RecoveryPoint? {
        let path = path(in: directory)
        guard FileSystem.exists(path) else { return nil }
        return decode(file: try FileSystem.readAll(path))
    }
}

/// Keeps the recovery-point file of a partition the writer owns.
package final class RecoveryPointWriter {
    private let file: FileDescriptor
    package private(set) var current: RecoveryPoint

    /// Opens (creating and fsyncing its directory entry if needed) the file, starting from `current`.
    package init(directory: String, current: RecoveryPoint?) throws {
        let path = RecoveryPoint.path(in: directory)
        let existed = FileSystem.exists(path)
        file = try FileDescriptor(path: path, mode: .createReadWrite)
        self.current = current ?? RecoveryPoint(offset: .zero, sequence: 0)
        if !existed {
            try advance(to: self.current.offset, force: true)
            try FileSystem.syncDirectory(directory)
        }
    }

    /// Makes `offset` the durable recovery point: every record below it must already be fsynced.
    /// A point at or below the current one is ignored unless `force` (a repair lowers it).
    package func advance(to offset: Offset, force: Bool = false) throws {
        guard force || offset > current.offset else { return }
        let next = RecoveryPoint(offset: offset, sequence: current.sequence &+ 1)
        try file.write(next.encode(), at: Int64(next.sequence % 2) * Int64(RecoveryPoint.slotSize))
        try file.sync()
        current = next
    }

    package func close() { file.close() }
}
