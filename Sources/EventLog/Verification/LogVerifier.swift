/// Checks every batch and index of a partition without changing anything: `tally log verify`.
public enum LogVerifier {
    /// One problem found.
    public struct Finding: Sendable, Hashable, CustomStringConvertible {
        public enum Severity: String, Sendable { case corruption, warning }
        public var severity: Severity
        public var path: String
        public var position: Int64?
        public var message: String

        public init(severity: Severity, path: String, position: Int64?, message: String) {
            self.severity = severity
            self.path = path
            self.position = position
            self.message = message
        }

        public var description: String {
            "\(severity): \(path)\(position.map { " at byte \($0)" } ?? ""): \(message)"
        }
    }

    public struct Report: Sendable {
        public var partition: PartitionID
        public var segments = 0
        public var batches = 0
        public var records: UInt64 = 0
        public var bytes: Int64 = 0
        public var findings: [Finding] = []
        /// Where each new epoch begins: (first offset written with it, epoch), in order.
        public var epochs: [(offset: Offset, epoch: Epoch)] = []
        public var newestEpoch: Epoch?
        public var isCorrupt: Bool { findings.contains { $0.severity == .corruption } }

        public init(partition: PartitionID) { self.partition = partition }
    }

    /// Verifies one partition directory: every batch's header, checksum, decompression and records;
    /// offsets continuous across batches and segments; every index against its segment.
    ///
    /// A torn tail of the active segment above the durable recovery point is a warning (recovery
    /// truncates it: nothing acknowledged is there); damage anywhere else, or a log that ends below
    /// the recovery point, is corruption.
    public static func verify(directory: String, partition: PartitionID) throws -> Report {
        var report = Report(partition: partition)
        let durable = try RecoveryPoint.load(directory: directory)?.offset ?? .zero
        let bases = try SegmentFile.baseOffsets(in: directory)
        var expected: Offset? = nil
        for (i, base) in bases.enumerated() {
            let file = try SegmentFile(directory: directory, baseOffset: base)
            let isActive = i == bases.count - 1
            if let expected, expected != base {
                report.findings.append(
                    Finding(
                        severity: .corruption, path: file.logPath, position: 0,
                        message: "segment starts at offset \(base), but the previous one ends at \(expected)"))
            }
            let scan = try SegmentScanner.scan(file.reader, from: 0, expecting: base)
            report.segments += 1
            report.batches += scan.entries.count
            report.records += scan.records
            report.bytes += scan.stop.zeroesFrom ?? scan.fileSize
            let validEnd = scan.entries.last?.nextOffset ?? base
            if isActive, validEnd < durable {
                report.findings.append(
                    Finding(
                        severity: .corruption, path: file.logPath, position: scan.stop.position ?? scan.fileSize,
                        message:
                            "records \(validEnd)..<\(durable) were durable (below the recovery point) but are "
                            + (scan.stop.position == nil ? "missing" : "damaged: \(scan.stop.reason)")))
            } else if !isActive, let zeroes = scan.stop.zeroesFrom {
                // Only the active segment has reserved space; a sealed one ends at its last batch.
                report.findings.append(
                    Finding(
                        severity: .warning, path: file.logPath, position: zeroes,
                        message:
                            "sealed segment ends in \(scan.fileSize - zeroes) bytes of zeroes; the next writer truncates them"
                    ))
            } else if let position = scan.stop.position {
                let tornTail: Bool
                if case .torn = scan.stop, isActive {
                    tornTail = true
                } else if isActive {
                    tornTail = try SegmentScanner.validBatchExists(in: file.reader, after: position) == nil
                } else {
                    tornTail = false
                }
                report.findings.append(
                    Finding(
                        severity: tornTail ? .warning : .corruption, path: file.logPath, position: position,
                        message: tornTail
                            ? "torn tail of \(scan.fileSize - position) bytes (\(scan.stop.reason)); the next writer truncates it"
                            : scan.stop.reason))
            }
            let indexed = SegmentIndexFile.load(path: file.indexPath, baseOffset: base)
            if let indexed {
                let agrees =
                    indexed.count <= scan.entries.count
                    && zip(indexed, scan.entries).allSatisfy { $0 == $1 }
                if !agrees {
                    report.findings.append(
                        Finding(
                            severity: .corruption, path: file.indexPath, position: nil,
                            message: "index disagrees with its segment; opening the partition for writing rebuilds it"))
                } else if !isActive && indexed.count != scan.entries.count {
                    report.findings.append(
                        Finding(
                            severity: .corruption, path: file.indexPath, position: nil,
                            message: "sealed index covers \(indexed.count) of \(scan.entries.count) batches"))
                }
            } else {
                report.findings.append(
                    Finding(
                        severity: isActive ? .warning : .corruption, path: file.indexPath, position: nil,
                        message: "index missing or unreadable; opening the partition for writing rebuilds it"))
            }
            // Ownership only moves forward: a batch never carries an older epoch than one before it.
            for entry in scan.entries {
                if let newest = report.newestEpoch, entry.epoch < newest {
                    report.findings.append(
                        Finding(
                            severity: .corruption, path: file.logPath, position: entry.position,
                            message:
                                "batch at offset \(entry.baseOffset) has epoch \(entry.epoch), older than epoch \(newest) before it"
                        ))
                }
                if report.newestEpoch.map({ entry.epoch > $0 }) ?? true {
                    report.epochs.append((entry.baseOffset, entry.epoch))
                    report.newestEpoch = entry.epoch
                }
            }
            expected = scan.entries.last?.nextOffset ?? base
        }
        return report
    }
}
