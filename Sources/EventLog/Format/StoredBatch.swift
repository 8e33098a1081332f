/// Decoding one whole stored batch held by a store other than segment files (a database row), where
/// the row's own columns play the part of the segment index.
package enum StoredBatch {
    /// Verifies `bytes` (header, checksum, body, records) against what its row says — base offset,
    /// record count, epoch — and calls `body` with each record.
    ///
    /// - Throws: ``EventLogError`` `corruption` naming `location` and the base offset; whatever
    ///   `body` throws.
    @discardableResult
    package static func decode(
        _ bytes: [UInt8], base: Offset, count: Int, epoch: Epoch, location: String, decoder: inout BatchDecoder,
        _ body: (RecordView) throws -> Void
    ) throws -> BatchHeader {
        let header: BatchHeader
        do {
            header = try bytes.withUnsafeBytes { raw in try decoder.decode(raw, body) }
        } catch let failure as BatchDecoder.Failure {
            throw EventLogError(
                .corruption, "batch at offset \(base) is damaged: \(failure.reason)", path: location)
        }
        guard header.baseOffset == base, Int(header.recordCount) == count, header.epoch == epoch else {
            throw EventLogError(
                .corruption,
                "batch header (offset \(header.baseOffset), \(header.recordCount) records, epoch \(header.epoch)) disagrees with its row (offset \(base), \(count) records, epoch \(epoch))",
                path: location)
        }
        return header
    }
}
