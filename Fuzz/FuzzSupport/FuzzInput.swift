import EventLog

/// What every fuzz target shares: reading libFuzzer's input and patching checksums so that mutations
/// reach the decoders behind them instead of stopping at a CRC mismatch.
package enum FuzzInput {
    /// The input as bytes, its first byte split off as a mode the target may use to pick a variant.
    package static func split(_ start: UnsafeRawPointer, _ count: Int) -> (mode: UInt8, bytes: [UInt8])? {
        guard count > 0 else { return nil }
        let all = UnsafeRawBufferPointer(start: start, count: count)
        return (all[0], Array(all[1...]))
    }

    /// Recomputes the checksum of every batch that follows another back to back from byte 0, as far
    /// as their headers decode and their bodies fit.
    package static func patchBatchChecksums(_ bytes: inout [UInt8]) {
        var position = 0
        while bytes.count - position >= BatchHeader.size {
            let length: Int? = bytes.withUnsafeBytes { raw in
                let rest = UnsafeRawBufferPointer(rebasing: raw[position...])
                guard let header = try? BatchHeader.decode(rest), header.batchLength <= rest.count else { return nil }
                return header.batchLength
            }
            guard let length else { return }
            bytes.withUnsafeMutableBytes { raw in
                let batch = UnsafeMutableRawBufferPointer(rebasing: raw[position..<position + length])
                let crc = BatchEncoder.checksum(of: UnsafeRawBufferPointer(batch))
                batch.storeBytes(of: crc.littleEndian, toByteOffset: 60, as: UInt32.self)
            }
            position += length
        }
    }

    /// Recomputes a trailing CRC-32C over everything before it (snapshot files end with one).
    package static func patchTrailingChecksum(_ bytes: inout [UInt8]) {
        guard bytes.count >= 4 else { return }
        let body = bytes.count - 4
        let crc = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[..<body])) }
        bytes.withUnsafeMutableBytes { $0.storeBytes(of: crc.littleEndian, toByteOffset: body, as: UInt32.self) }
    }
}
