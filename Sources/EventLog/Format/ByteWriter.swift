/// Appends little-endian integers, LEB128 varints and raw bytes to a growing buffer.
package struct ByteWriter: Sendable {
    @usableFromInline package var bytes: [UInt8]

    package init(capacity: Int = 0) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    package var count: Int { bytes.count }

    @inlinable @inline(__always)
    package mutating func write<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    @inlinable @inline(__always)
    package mutating func writeVarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    /// Zigzag-encodes a signed value so small magnitudes of either sign stay short.
    @inlinable @inline(__always)
    package mutating func writeSignedVarint(_ value: Int64) {
        writeVarint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    package mutating func write(bytes other: some Collection<UInt8>) {
        bytes.append(contentsOf: other)
    }

    package mutating func write(bytes other: UnsafeRawBufferPointer) {
        bytes.append(contentsOf: other)
    }

    /// Overwrites a little-endian integer at `position`, which must already be written.
    package mutating func patch<T: FixedWidthInteger>(_ value: T, at position: Int) {
        withUnsafeBytes(of: value.littleEndian) { raw in
            for i in 0..<raw.count { bytes[position + i] = raw[i] }
        }
    }

    /// The number of bytes `writeVarint(value)` writes.
    @inlinable @inline(__always)
    package static func varintSize(_ value: UInt64) -> Int {
        let bits = 64 - value.leadingZeroBitCount
        return max(1, (bits + 6) / 7)
    }
}
