public import EventLog
import NIOCore
import PostgresNIO

extension PostgresLogStore {
    /// Checks every batch row of a partition without changing anything (`tally log verify --store`):
    /// each batch's header, checksum, decompression and records; the row's columns (offsets, epoch,
    /// times, guild filter) against the batch; offsets continuous from row to row; epochs never going
    /// back; and the partition's recorded end (`next_offset`) and epoch against its batches.
    ///
    /// A gap at or after the recorded end is a warning, not damage: an append in flight failed, the
    /// batches after it were never acknowledged, and the next acquire removes them (readers never
    /// read past it). A gap below the recorded end is corruption.
    ///
    /// - Throws: ``EventLog/EventLogError`` `io` when the database cannot be read (damage is a finding).
    public func verify(partition: PartitionID) async throws -> LogVerifier.Report {
        var report = LogVerifier.Report(partition: partition)
        let p = Int32(partition.rawValue)
        let place = "\(location) partition \(partition)"
        var row: (epoch: Int64, next: Int64)?
        try await database("cannot read partition \(partition)") {
            for try await r in try await client.query(
                "SELECT epoch, next_offset FROM tally_partitions WHERE partition = \(p)", logger: logger
            ).decode((Int64, Int64).self) {
                row = (r.0, r.1)
            }
        }
        guard let row else { return report }
        var expected: Offset?
        var after: Int64 = -1
        let recorded = Offset(UInt64(row.next))
        /// Where the contiguous log ends, once a gap after the recorded end was found.
        var gap: Offset?
        var reachedRecorded = row.next == 0
        var decoder = BatchDecoder()
        while true {
            let page = try await database("cannot read partition \(partition)") {
                var rows: [BatchRow] = []
                for try await r in try await client.query(
                    """
                    SELECT base_offset, last_offset, record_count, epoch, min_time, max_time, guilds, bloom_words,
                        bloom_hashes, bytes
                    FROM tally_batches WHERE partition = \(p) AND base_offset > \(after)
                    ORDER BY base_offset LIMIT 256
                    """, logger: logger
                ).decode((Int64, Int64, Int32, Int64, Int64, Int64, [Int64]?, [Int64]?, Int16?, ByteBuffer).self) {
                    rows.append(BatchRow(r))
                }
                return rows
            }
            guard !page.isEmpty else { break }
            for batch in page {
                after = batch.baseOffset
                let base = Offset(UInt64(batch.baseOffset))
                let bytes = Array(buffer: batch.bytes)
                if gap == nil, let expected, expected != base {
                    if expected >= recorded && base > expected {
                        gap = expected
                        report.findings.append(
                            .init(
                                severity: .warning, path: place, position: nil,
                                message:
                                    "the log has a gap at offset \(expected) after its recorded end \(recorded): the batches from \(base) on were never acknowledged, and the next acquire removes them"
                            ))
                    } else {
                        report.findings.append(
                            .init(
                                severity: .corruption, path: place, position: nil,
                                message: "batch starts at offset \(base), but the previous one ends at \(expected)"))
                    }
                }
                if base == recorded || Offset(UInt64(batch.lastOffset + 1)) == recorded { reachedRecorded = true }
                expected = Offset(UInt64(batch.lastOffset + 1))
                report.batches += 1
                report.records += UInt64(max(0, batch.recordCount))
                report.bytes += Int64(bytes.count)
                var guilds = Set<GuildID>()
                var minTime = Timestamp(rawValue: .max)
                var maxTime = Timestamp(rawValue: .min)
                do {
                    try StoredBatch.decode(
                        bytes, base: base, count: Int(batch.recordCount), epoch: Epoch(UInt64(batch.epoch)),
                        location: place, decoder: &decoder
                    ) { record in
                        guilds.insert(record.guild)
                        minTime = min(minTime, record.timestamp)
                        maxTime = max(maxTime, record.timestamp)
                    }
                } catch let error as EventLogError {
                    report.findings.append(
                        .init(severity: .corruption, path: place, position: nil, message: error.message))
                    continue
                }
                if let problem = batch.disagreement(guilds: guilds, minTime: minTime, maxTime: maxTime) {
                    report.findings.append(
                        .init(
                            severity: .corruption, path: place, position: nil,
                            message: "row of the batch at offset \(base) disagrees with the batch: \(problem)"))
                }
                let epoch = Epoch(UInt64(batch.epoch))
                if let newest = report.newestEpoch, epoch < newest {
                    report.findings.append(
                        .init(
                            severity: .corruption, path: place, position: nil,
                            message: "batch at offset \(base) has epoch \(epoch), older than epoch \(newest) before it")
                    )
                }
                if report.newestEpoch.map({ epoch > $0 }) ?? true {
                    report.epochs.append((base, epoch))
                    report.newestEpoch = epoch
                }
            }
        }
        let end = gap ?? expected ?? .zero
        if recorded > end || (expected != nil && !reachedRecorded) {
            report.findings.append(
                .init(
                    severity: .corruption, path: place, position: nil,
                    message:
                        "the partition's recorded end is \(row.next), which is not the end of a batch of its contiguous log (ending at \(end))"
                ))
        }
        if let newest = report.newestEpoch, UInt64(row.epoch) < newest.rawValue {
            report.findings.append(
                .init(
                    severity: .corruption, path: place, position: nil,
                    message: "the partition's epoch \(row.epoch) is older than its newest batch's epoch \(newest)"))
        }
        return report
    }
}

extension BatchRow {
    /// A row as the verifier reads it (the columns in table order).
    init(_ r: (Int64, Int64, Int32, Int64, Int64, Int64, [Int64]?, [Int64]?, Int16?, ByteBuffer)) {
        (baseOffset, lastOffset, recordCount, epoch, minTime, maxTime, guilds, bloomWords, bloomHashes, bytes) = r
    }

    /// What in the row's columns contradicts the batch's records, if anything.
    func disagreement(guilds found: Set<GuildID>, minTime: Timestamp, maxTime: Timestamp) -> String? {
        if self.minTime != minTime.rawValue || self.maxTime != maxTime.rawValue {
            return "times \(self.minTime)…\(self.maxTime), records \(minTime.rawValue)…\(maxTime.rawValue)"
        }
        if let guilds {
            let listed = guilds.map { GuildID(UInt64(bitPattern: $0)) }
            if listed != found.sorted() { return "guild list \(listed) is not the records' \(found.sorted())" }
        } else if let bloomWords, let bloomHashes, bloomHashes > 0, !bloomWords.isEmpty {
            let filter = GuildFilter.bloom(words: bloomWords.map { UInt64(bitPattern: $0) }, hashes: UInt8(bloomHashes))
            if let missing = found.first(where: { !filter.mayContain($0) }) {
                return "its guild filter leaves out guild \(missing)"
            }
        } else {
            return "no guild filter"
        }
        return nil
    }
}
