import EventLog
import FuzzSupport

/// One stored batch. Mode bit 0 patches the checksum first, so mutations reach the record decoder.
/// Properties: decoding never traps; a header that decodes encodes back to the same header; a
/// batch that verifies decodes the same records with and without the checksum check.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBatchDecoder(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    guard let input = FuzzInput.split(start, count) else { return 0 }
    let mode = input.mode
    var bytes = input.bytes
    if mode & 1 == 1 { FuzzInput.patchBatchChecksums(&bytes) }
    bytes.withUnsafeBytes { raw in
        if let header = try? BatchHeader.decode(raw) {
            var out = [UInt8](repeating: 0, count: BatchHeader.size)
            out.withUnsafeMutableBytes { header.encode(into: $0) }
            let again = out.withUnsafeBytes { try? BatchHeader.decode($0) }
            precondition(again == header, "a decoded header does not survive encoding")
        }
        var decoder = BatchDecoder()
        var verified: [StoredRecord] = []
        let header = try? decoder.decode(raw) { verified.append(StoredRecord($0)) }
        var unverified: [StoredRecord] = []
        let again = try? decoder.decode(raw, verify: false) { unverified.append(StoredRecord($0)) }
        if header != nil {
            precondition(again == header && unverified == verified, "verification changed what was decoded")
        }
    }
    return 0
}
