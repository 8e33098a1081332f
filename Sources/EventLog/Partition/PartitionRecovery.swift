package import Logging

/// Opens a partition's segments: trusts sealed indexes that cover their segment, rebuilds the ones
/// that do not, verifies the active segment batch by batch, and (when repairing) truncates a torn tail.
///
/// The numbered steps are in `OnDiskFormat.md`, "Recovery".
package struct PartitionRecovery {
    package let directory: String
    package let partition: PartitionID
    /// Whether recovery may change files: truncate a torn tail, rewrite stale indexes. Only a writer
    /// holding the partition lock repairs; readers see the valid prefix and change nothing.
    package let repair: Bool
    package let logger: Logger

    /// What recovery found, for logs and `tally log verify`.
    package struct Report: Sendable {
        package var segments = 0
        package var batches = 0
        package var rebuiltIndexes: [String] = []
        package var truncated: (path: String, position: Int64, bytesDropped: Int64, reason: String)?
        /// The durable recovery point found, if the partition has one.
        package var recoveryPoint: RecoveryPoint?
    }

    package func run() throws -> ([PartitionState.Segment], Report) {
        var report = Report()
        // Read before listing segments: a writer only advances the point past bytes already written,
        // so everything below the point read here is in the files listed next.
        let durable = try RecoveryPoint.load(directory: directory)
        report.recoveryPoint = durable
        let bases = try SegmentFile.baseOffsets(in: directory)
        if bases.isEmpty, let durable, durable.offset > .zero {
            throw EventLogError(
                .corruption, "no segment holds the records below the durable recovery point \(durable.offset)",
                path: RecoveryPoint.path(in: directory))
        }
        var segments: [PartitionState.Segment] = []
        for (i, base) in bases.enumerated() {
            let file = try SegmentFile(directory: directory, baseOffset: base)
            if let previous = segments.last, previous.nextOffset != base {
                throw EventLogError(
                    .corruption,
                    "segment starts at offset \(base) but the previous segment ends at offset \(previous.nextOffset)",
                    path: file.logPath, position: 0)
            }
            let isActive = i == bases.count - 1
            let entries =
                isActive
                ? try recoverActive(file, durable: durable?.offset ?? .zero, report: &report)
                : try openSealed(file, report: &report)
            segments.append(PartitionState.Segment(file: file, entries: entries))
            report.segments += 1
            report.batches += entries.count
        }
        return (segments, report)
    }

    private func openSealed(_ file: SegmentFile, report: inout Report) throws -> [IndexEntry] {
        let size = try file.reader.size()
        if let entries = SegmentIndexFile.load(path: file.indexPath, baseOffset: file.baseOffset),
            SegmentIndexFile.covers(entries, baseOffset: file.baseOffset, fileSize: size)
        {
            return entries
        }
        let scan = try SegmentScanner.scan(file.reader, from: 0, expecting: file.baseOffset)
        if let position = scan.stop.position {
            throw EventLogError(
                .corruption, "sealed segment is damaged: \(scan.stop.reason)", path: file.logPath, position: position)
        }
        if let zeroes = scan.stop.zeroesFrom, repair {
            // A roll truncates reserved space before sealing; zeroes left after the last batch hold
            // nothing, so they are cut rather than refused.
            try cut(file, at: zeroes)
            logger.warning(
                "cut reserved space after a sealed segment's last batch",
                metadata: [
                    "partition": "\(partition)", "segment.path": "\(file.logPath)",
                    "bytes.dropped": "\(scan.fileSize - zeroes)",
                ])
        }
        logger.warning(
            "rebuilt missing or stale segment index",
            metadata: [
                "partition": "\(partition)", "index.path": "\(file.indexPath)",
                "index.batches": "\(scan.entries.count)",
            ])
        if repair { try SegmentIndexFile.write(scan.entries, path: file.indexPath, baseOffset: file.baseOffset) }
        report.rebuiltIndexes.append(file.indexPath)
        return scan.entries
    }

    /// Truncates a segment file at `position` and makes that durable.
    private func cut(_ file: SegmentFile, at position: Int64) throws {
        let writable = try FileDescriptor(path: file.logPath, mode: .readWrite)
        try writable.truncate(to: position)
        try writable.sync()
    }

    private func recoverActive(_ file: SegmentFile, durable: Offset, report: inout Report) throws -> [IndexEntry] {
        let indexed = SegmentIndexFile.load(path: file.indexPath, baseOffset: file.baseOffset) ?? []
        let scan = try SegmentScanner.scan(file.reader, from: 0, expecting: file.baseOffset, known: indexed)
        let validEnd = scan.entries.last?.nextOffset ?? file.baseOffset
        if validEnd < durable {
            // Records below the recovery point were fsynced before it was written: whatever stops
            // the scan short of it is damage to acknowledged data, never a torn write.
            throw EventLogError(
                .corruption,
                scan.stop.position == nil
                    ? "segment ends at offset \(validEnd) but records up to offset \(durable) were durable"
                    : "batch below the durable recovery point (offset \(durable)) is damaged: \(scan.stop.reason)",
                path: file.logPath, position: scan.stop.position ?? scan.fileSize)
        }
        if let position = scan.stop.position {
            // A batch the index names was durable before it was indexed: damage at or before it is
            // corruption of acknowledged data, never a torn write. So is damage followed by a valid batch.
            if indexed.contains(where: { $0.end > position }) {
                throw EventLogError(
                    .corruption, "indexed batch is damaged: \(scan.stop.reason)", path: file.logPath, position: position
                )
            }
            if let later = try SegmentScanner.validBatchExists(in: file.reader, after: position) {
                throw EventLogError(
                    .corruption, "batch is damaged but a valid batch follows at byte \(later): \(scan.stop.reason)",
                    path: file.logPath, position: position)
            }
            let dropped = scan.fileSize - position
            if repair {
                try cut(file, at: position)
                logger.warning(
                    "truncated torn tail of active segment",
                    metadata: [
                        "partition": "\(partition)", "segment.path": "\(file.logPath)",
                        "segment.position": "\(position)",
                        "bytes.dropped": "\(dropped)", "reason": "\(scan.stop.reason)",
                    ])
            }
            report.truncated = (file.logPath, position, dropped, scan.stop.reason)
        }
        if repair, indexed != scan.entries {
            try SegmentIndexFile.write(scan.entries, path: file.indexPath, baseOffset: file.baseOffset)
            if indexed.count != scan.entries.count || !indexed.isEmpty { report.rebuiltIndexes.append(file.indexPath) }
        }
        return scan.entries
    }
}
