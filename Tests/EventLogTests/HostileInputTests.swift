import TallyTesting
import Testing

@testable import EventLog

/// Out-of-range lengths, varints and offsets in stored bytes are corruption, never a trap.
@Suite struct HostileInputTests {
    /// A stored batch around `body` with a valid checksum, so that only the field under test is wrong.
    static func batch(
        body: [UInt8], baseOffset: UInt64 = 0, recordCount: UInt32 = 1, codec: BatchCodec = .none,
        uncompressedLength: UInt32? = nil
    ) -> [UInt8] {
        let header = BatchHeader(
            codec: codec, epoch: Epoch(1), baseOffset: Offset(baseOffset), recordCount: recordCount,
            uncompressedLength: uncompressedLength ?? UInt32(body.count), storedLength: UInt32(body.count),
            guildCount: 1, firstTimestamp: Timestamp(milliseconds: 0), lastTimestamp: Timestamp(milliseconds: 0))
        var bytes = [UInt8](repeating: 0, count: BatchHeader.size) + body
        bytes.withUnsafeMutableBytes { header.encode(into: $0) }
        let crc = bytes.withUnsafeBytes { BatchEncoder.checksum(of: $0) }
        bytes.withUnsafeMutableBytes { $0.storeBytes(of: crc.littleEndian, toByteOffset: 60, as: UInt32.self) }
        return bytes
    }

    func decode(_ bytes: [UInt8]) -> (any Error)? {
        var decoder = BatchDecoder()
        do {
            _ = try bytes.withUnsafeBytes { raw in try decoder.decode(raw) { _ in } }
            return nil
        } catch {
            return error
        }
    }

    @Test func recordLengthBeyondIntIsAMalformedRecord() {
        var body = ByteWriter()
        body.writeVarint(UInt64.max)
        body.write(bytes: [UInt8](repeating: 0, count: 16))
        let error = decode(HostileInputTests.batch(body: body.bytes))
        guard case .record(0, let reason) = error as? BatchDecoder.Failure else {
            Issue.record("expected a malformed record, got \(String(describing: error))")
            return
        }
        #expect(reason.contains("out of bounds"))
    }

    @Test func baseOffsetWithNoRoomForItsRecordsIsImplausible() {
        var body = ByteWriter()
        body.writeVarint(11)
        body.write(bytes: [UInt8](repeating: 0, count: 11))
        let error = decode(HostileInputTests.batch(body: body.bytes, baseOffset: UInt64.max, recordCount: 2))
        guard case .header(.implausible) = error as? BatchDecoder.Failure else {
            Issue.record("expected an implausible header, got \(String(describing: error))")
            return
        }
    }

    @Test func lz4LengthBeyondAnyExpansionIsImplausible() {
        let error = decode(
            HostileInputTests.batch(body: [0x00], codec: .lz4, uncompressedLength: BatchHeader.maxBodyLength))
        guard case .header(.implausible) = error as? BatchDecoder.Failure else {
            Issue.record("expected an implausible header, got \(String(describing: error))")
            return
        }
    }

    @Test func scannerReportsAnOverflowingBatchAsCorrupt() {
        let bytes = HostileInputTests.batch(body: [0x0B] + [UInt8](repeating: 0, count: 11), baseOffset: UInt64.max)
        let result = bytes.withUnsafeBytes { raw in
            SegmentScanner.scan(raw, startingAt: 0, expecting: Offset(UInt64.max), knownByPosition: [:], fileSize: 76)
        }
        guard case .corrupt(0, _) = result.stop else {
            Issue.record("expected corruption at byte 0, got \(result.stop)")
            return
        }
    }

    /// One index entry's bytes with a valid checksum, whatever its fields say.
    static func indexEntry(position: UInt64, baseOffset: UInt64, recordCount: UInt32 = 5) -> [UInt8] {
        var out = ByteWriter()
        out.write(UInt32(0))
        out.write(baseOffset)
        out.write(position)
        out.write(UInt32(100))
        out.write(recordCount)
        out.write(Int64(0))
        out.write(Int64(0))
        out.write(UInt64(1))
        out.write(bytes: [0, 0, 0, 0])
        out.write(UInt32(0))
        out.patch(UInt32(out.count), at: 0)
        let crc = out.bytes.withUnsafeBytes { CRC32C.checksum($0) }
        out.write(crc)
        return out.bytes
    }

    /// An index entry whose position or offsets would overflow is unreadable: recovery scans instead.
    @Test(arguments: [
        (UInt64(Int64.max), UInt64(0)), (UInt64.max, UInt64(0)), (UInt64(0), UInt64.max),
    ])
    func indexEntryWithOverflowingFieldsIsUnreadable(position: UInt64, baseOffset: UInt64) {
        HostileInputTests.indexEntry(position: position, baseOffset: baseOffset).withUnsafeBytes { raw in
            var reader = ByteReader(raw)
            #expect(IndexEntry.decode(&reader) == nil)
        }
    }

    /// Recovery with such an entry in a sealed segment's index rebuilds the index from the segment.
    @Test func recoveryRebuildsAnIndexWhoseEntryWouldOverflow() async throws {
        let dir = TemporaryDirectory()
        let log = try openWriter(dir.path, segmentBytes: 200)
        for i in 1...4 { _ = try await log.append([makeRecord(guild: 1, sequence: UInt64(i), size: 100)]) }
        await log.close()
        let index = dir.path + "/" + SegmentFile.stem(.zero) + SegmentFile.indexSuffix
        let bytes =
            SegmentIndexFile.header(baseOffset: .zero)
            + HostileInputTests.indexEntry(position: UInt64.max, baseOffset: 0, recordCount: 1)
        try FileSystem.writeAtomically(bytes, to: index)
        let reopened = try openWriter(dir.path, segmentBytes: 200)
        #expect(reopened.endOffset == Offset(4))
        #expect(reopened.recovery.rebuiltIndexes.contains(index))
        await reopened.close()
    }
}
