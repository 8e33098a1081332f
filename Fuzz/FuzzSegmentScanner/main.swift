import EventLog
import FuzzSupport

/// A segment file's bytes (mode bit 0 patches every batch checksum), or with mode bit 1 an index file.
/// Properties: scanning never traps; the valid prefix it reports lies inside the input and its index
/// entries describe it exactly; what it calls reserved space is zeroes to the end; entries written to
/// an index file read back unchanged.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSegmentScanner(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    guard let input = FuzzInput.split(start, count) else { return 0 }
    let mode = input.mode
    var bytes = input.bytes
    if mode & 2 == 2 {
        let base =
            bytes.count >= 16 ? bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self) } : 0
        if let entries = SegmentIndexFile.decode(bytes, baseOffset: Offset(UInt64(littleEndian: base))) {
            _ = SegmentIndexFile.covers(entries, baseOffset: Offset(base), fileSize: Int64(bytes.count))
            for entry in entries { _ = entry.filter.mayContain(GuildID(entry.baseOffset.rawValue)) }
        }
        return 0
    }
    if mode & 1 == 1 { FuzzInput.patchBatchChecksums(&bytes) }
    bytes.withUnsafeBytes { raw in
        let first = (try? BatchHeader.decode(raw))?.baseOffset ?? .zero
        let result = SegmentScanner.scan(
            raw, startingAt: 0, expecting: first, knownByPosition: [:], fileSize: Int64(raw.count))
        let end = result.entries.last?.end ?? 0
        precondition(end <= Int64(raw.count), "entries reach past the input")
        precondition(
            SegmentIndexFile.covers(result.entries, baseOffset: first, fileSize: end), "entries are not contiguous")
        if let position = result.stop.position {
            precondition(position == end, "the scan stopped somewhere other than after its last entry")
            _ = SegmentScanner.firstValidBatch(in: UnsafeRawBufferPointer(rebasing: raw[Int(position)...]))
        } else if let zeroes = result.stop.zeroesFrom {
            precondition(zeroes == end, "reserved space does not start after the last entry")
            precondition(raw[Int(zeroes)...].allSatisfy { $0 == 0 }, "reserved space holds a non-zero byte")
        } else {
            precondition(end == Int64(raw.count), "a clean scan did not reach the end")
        }
        var out = ByteWriter()
        out.write(bytes: SegmentIndexFile.header(baseOffset: first))
        for entry in result.entries { entry.encode(into: &out) }
        precondition(
            SegmentIndexFile.decode(out.bytes, baseOffset: first) == result.entries, "index entries do not round-trip")
    }
    return 0
}
