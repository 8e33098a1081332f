import Domain
import EventLog
import FuzzSupport
import Partition

/// A partition snapshot file (mode bit 0 patches its trailing checksum). Properties: decoding never
/// traps; a snapshot that decodes encodes to one that decodes to the same model.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSnapshot(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    guard let input = FuzzInput.split(start, count) else { return 0 }
    let mode = input.mode
    var bytes = input.bytes
    if mode & 1 == 1 { FuzzInput.patchTrailingChecksum(&bytes) }
    let partition =
        bytes.count >= 9
        ? PartitionID(
            UInt32(littleEndian: bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 5, as: UInt32.self) }))
        : PartitionID(0)
    guard
        let model = try? PartitionModel.decodeSnapshot(
            bytes, partition: partition, globalDefaults: [:], remembersKeys: true)
    else { return 0 }
    let encoded = model.encodeSnapshot(partition: partition)
    let again = try? PartitionModel.decodeSnapshot(
        encoded, partition: partition, globalDefaults: [:], remembersKeys: true)
    precondition(again?.guilds == model.guilds, "guild states do not round-trip")
    precondition(again?.nextOffset == model.nextOffset, "offset does not round-trip")
    return 0
}
