/// Finds the first damage in a partition and, on request, cuts the log there: `tally log repair`.
///
/// Recovery never cuts acknowledged data on its own (damage below the recovery point or inside
/// sealed segments stops it with a corruption error); an operator who accepts the loss runs
/// ``plan(directory:partition:)`` to see exactly what would be lost, then
/// ``truncateAfterDamage(_:)``, which keeps a copy of every byte it cuts beside the log.
public enum LogRepair {
    /// What a repair would cut.
    public struct Plan: Sendable {
        public var partition: PartitionID
        public var directory: String
        /// The first damage, or nil when the whole log is valid.
        public var damage: Damage?
    }

    public struct Damage: Sendable {
        /// The segment holding the first damaged byte, and that byte's position.
        public var path: String
        public var position: Int64
        public var reason: String
        /// Bytes cut from `path` (from `position` to its end).
        public var bytesInSegment: Int64
        /// Later segment files cut whole (their offsets follow the damage, so none can be kept).
        public var laterSegments: [String]
        /// Bytes in `laterSegments`.
        public var bytesInLaterSegments: Int64
        /// The log's end offset after the cut.
        public var keptEnd: Offset
        /// Valid batches found in the cut bytes, and the records they hold.
        public var validBatchesCut: Int
        public var validRecordsCut: UInt64
        /// The highest offset anything in the cut bytes, the index or the recovery point vouches
        /// for: the records `keptEnd..<knownEnd` are lost (more may have been in unreadable batches).
        public var knownEnd: Offset

        public var recordsLost: UInt64 { knownEnd.rawValue - keptEnd.rawValue }
        public var bytesCut: Int64 { bytesInSegment + bytesInLaterSegments }
    }

    /// Scans every segment of a partition (read-only) and describes the first damage.
    ///
    /// - Throws: ``EventLogError`` `io` when a file cannot be read.
    public static func plan(directory: String, partition: PartitionID) throws -> Plan {
        var plan = Plan(partition: partition, directory: directory, damage: nil)
        let bases = try SegmentFile.baseOffsets(in: directory)
        let durable = try RecoveryPoint.load(directory: directory)?.offset ?? .zero
        var expected = bases.first ?? .zero
        var previous: (path: String, size: Int64)?
        for (i, base) in bases.enumerated() {
            let file = try SegmentFile(directory: directory, baseOffset: base)
            let size = try file.reader.size()
            var damage: Damage
            var later = bases[(i + 1)...]
            if base != expected, let previous {
                // A gap or overlap between segments: cut after the previous segment, this one included.
                damage = Damage(
                    path: previous.path, position: previous.size,
                    reason:
                        "segment \(file.logPath) starts at offset \(base), but the previous one ends at \(expected)",
                    bytesInSegment: 0, laterSegments: [], bytesInLaterSegments: 0, keptEnd: expected,
                    validBatchesCut: 0, validRecordsCut: 0, knownEnd: max(expected, durable))
                later = bases[i...]
            } else {
                let scan = try SegmentScanner.scan(file.reader, from: 0, expecting: base)
                let kept = scan.entries.last?.nextOffset ?? base
                guard let position = scan.stop.position else {
                    expected = kept
                    previous = (file.logPath, size)
                    continue
                }
                let indexed = SegmentIndexFile.load(path: file.indexPath, baseOffset: base) ?? []
                damage = Damage(
                    path: file.logPath, position: position, reason: scan.stop.reason,
                    bytesInSegment: size - position, laterSegments: [], bytesInLaterSegments: 0, keptEnd: kept,
                    validBatchesCut: 0, validRecordsCut: 0,
                    knownEnd: max(kept, indexed.last?.nextOffset ?? base, durable))
                count(try readAll(file.reader, from: position), skippingFirst: true, into: &damage)
            }
            for next in later {
                let laterFile = try SegmentFile(directory: directory, baseOffset: next)
                damage.laterSegments.append(laterFile.logPath)
                let bytes = try readAll(laterFile.reader, from: 0)
                damage.bytesInLaterSegments += Int64(bytes.count)
                count(bytes, skippingFirst: false, into: &damage)
                let indexed = SegmentIndexFile.load(path: laterFile.indexPath, baseOffset: next) ?? []
                damage.knownEnd = max(damage.knownEnd, indexed.last?.nextOffset ?? damage.knownEnd)
            }
            plan.damage = damage
            return plan
        }
        return plan
    }

    /// Cuts the log at the plan's damage: copies the cut bytes of the damaged segment to
    /// `<segment>.damaged-<position>` and renames each later segment to `<segment>.damaged-0` (both
    /// fsynced), truncates the segment, rewrites its index, and lowers the recovery point to the
    /// kept end. Takes the partition's lock, so no writer may hold it.
    ///
    /// - Returns: the paths of the copies kept.
    /// - Throws: ``EventLogError`` `locked` while a writer holds the partition, `io`.
    @discardableResult
    public static func truncateAfterDamage(_ plan: Plan) throws -> [String] {
        guard let damage = plan.damage else { return [] }
        let lock = try PartitionLock(directory: plan.directory, partition: plan.partition)
        defer { lock.release() }
        var kept: [String] = []
        let segment = try FileDescriptor(path: damage.path, mode: .readWrite)
        let copyPath = damage.path + ".damaged-\(damage.position)"
        let copy = try FileDescriptor(path: copyPath, mode: .createReadWrite)
        try copy.truncate(to: 0)
        try copy.write(try readAll(segment, from: damage.position), at: 0)
        try copy.sync()
        copy.close()
        kept.append(copyPath)
        for later in damage.laterSegments {
            let aside = later + ".damaged-0"
            try FileSystem.rename(later, to: aside)
            try? FileSystem.remove(
                String(later.dropLast(SegmentFile.logSuffix.count)) + SegmentFile.indexSuffix)
            kept.append(aside)
        }
        try FileSystem.syncDirectory(plan.directory)
        try segment.truncate(to: damage.position)
        try segment.sync()
        segment.close()
        let base = try SegmentFile.baseOffsets(in: plan.directory).last ?? .zero
        let file = try SegmentFile(directory: plan.directory, baseOffset: base)
        let scan = try SegmentScanner.scan(file.reader, from: 0, expecting: base)
        try SegmentIndexFile.write(scan.entries, path: file.indexPath, baseOffset: base)
        let point = try RecoveryPointWriter(
            directory: plan.directory, current: try RecoveryPoint.load(directory: plan.directory))
        try point.advance(to: damage.keptEnd, force: true)
        point.close()
        try FileSystem.syncDirectory(plan.directory)
        return kept
    }

    private static func readAll(_ file: FileDescriptor, from position: Int64) throws -> [UInt8] {
        let size = try file.size()
        var bytes = [UInt8](repeating: 0, count: Int(max(0, size - position)))
        let n = try bytes.withUnsafeMutableBytes { try file.read(into: $0, at: position) }
        return Array(bytes[..<n])
    }

    /// Counts the valid batches in `bytes` (batches back to back, and any found past damage).
    private static func count(_ bytes: [UInt8], skippingFirst: Bool, into damage: inout Damage) {
        bytes.withUnsafeBytes { raw in
            var i = skippingFirst ? 1 : 0
            while i < raw.count {
                guard
                    let found = SegmentScanner.firstValidBatch(in: UnsafeRawBufferPointer(rebasing: raw[i...])),
                    let header = try? BatchHeader.decode(UnsafeRawBufferPointer(rebasing: raw[(i + found)...]))
                else { return }
                damage.validBatchesCut += 1
                damage.validRecordsCut += UInt64(header.recordCount)
                damage.knownEnd = max(damage.knownEnd, header.nextOffset)
                i += found + header.batchLength
            }
        }
    }
}
