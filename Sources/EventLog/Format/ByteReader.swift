/// Reads little-endian integers and LEB128 varints from a buffer, failing on every overrun.
///
/// The buffer must outlive the reader; it does not copy.
package struct ByteReader {
    package let base: UnsafeRawBufferPointer
    package private(set) var position: Int

    package init(_ base: UnsafeRawBufferPointer, position: Int = 0) {
        self.base = base
        self.position = position
    }

    package var remaining: Int { base.count - position }
    package var isAtEnd: Bool { position >= base.count }

    /// Thrown by every read past the end or of a malformed varint; callers turn it into a
    /// corruption error with the file and position they know.
    package struct Overrun: Error {}

    @inline(__always)
    package mutating func read<T: FixedWidthInteger>(_: T.Type) throws(Overrun) -> T {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { throw Overrun() }
        let v = base.loadUnaligned(fromByteOffset: position, as: T.self)
        position &+= size
        return T(littleEndian: v)
    }

    @inline(__always)
    package mutating func readVarint() throws(Overrun) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < base.count, shift < 64 else { throw Overrun() }
            let byte = base[position]
            position &+= 1
            result |= UInt64(byte & 0x7F) &<< shift
            if byte < 0x80 { return result }
            shift &+= 7
        }
    }

    @inline(__always)
    package mutating func readSignedVarint() throws(Overrun) -> Int64 {
        let raw = try readVarint()
        return Int64(bitPattern: raw >> 1) ^ -Int64(bitPattern: raw & 1)
    }

    @inline(__always)
    package mutating func readBytes(_ count: Int) throws(Overrun) -> UnsafeRawBufferPointer {
        guard count >= 0, remaining >= count else { throw Overrun() }
        let slice = UnsafeRawBufferPointer(rebasing: base[position..<(position + count)])
        position &+= count
        return slice
    }

    package mutating func skip(_ count: Int) throws(Overrun) {
        guard count >= 0, remaining >= count else { throw Overrun() }
        position &+= count
    }
}
