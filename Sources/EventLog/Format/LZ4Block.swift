import CLZ4

/// liblz4's block format: one independent compressed block per batch body.
package enum LZ4Block {
    /// Compresses `source` into the front of `scratch` (grown as needed and reused across calls).
    ///
    /// - Returns: the compressed length, or nil when compression would not make the body smaller, in
    ///   which case the caller stores it uncompressed.
    package static func compress(_ source: UnsafeRawBufferPointer, into scratch: inout [UInt8]) -> Int? {
        guard source.count > 0, source.count <= Int(LZ4_MAX_INPUT_SIZE) else { return nil }
        let bound = Int(LZ4_compressBound(Int32(source.count)))
        if scratch.count < bound { scratch.append(contentsOf: repeatElement(0, count: bound - scratch.count)) }
        let written = scratch.withUnsafeMutableBytes { dst in
            LZ4_compress_default(
                source.baseAddress!.assumingMemoryBound(to: CChar.self),
                dst.baseAddress!.assumingMemoryBound(to: CChar.self),
                Int32(source.count), Int32(bound))
        }
        return written > 0 && Int(written) < source.count ? Int(written) : nil
    }

    /// Decompresses `source` into exactly `destination.count` bytes; false if the block is malformed
    /// or does not produce exactly that many bytes.
    package static func decompress(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer)
        -> Bool
    {
        guard let src = source.baseAddress, let dst = destination.baseAddress else {
            return source.isEmpty && destination.isEmpty
        }
        let n = LZ4_decompress_safe(
            src.assumingMemoryBound(to: CChar.self), dst.assumingMemoryBound(to: CChar.self),
            Int32(source.count), Int32(destination.count))
        return n >= 0 && Int(n) == destination.count
    }
}
