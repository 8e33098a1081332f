/// Reads little-endian integers and LEB128 varints from a buffer, failing on every overrun.
///
/// The buffer must outlive the reader; it does not copy.
package struct ByteReader {
    @usableFromInline package let base: UnsafeRawBufferPointer
    @usableFromInline package private(set) var position: Int

    @inlinable package init(_ base: UnsafeRawBufferPointer, position: Int = 0) {
        self.base = base
        self.position = position
    }

    @inlinable package var remaining: Int { base.count - position }
    @inlinable package var isAtEnd: Bool { position >= base.count }

    /// Thrown by every read past the end or of a malformed varint; callers turn it into a
    /// corruption error with the file and position they know.
    package struct Overrun: Error {
        @inlinable package init() {}
    }

    @inlinable @inline(__always)
    package mutating func read<T: FixedWidthInteger>(_: T.Type) throws(Overrun) -> T {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { throw Overrun() }
        let v = base.loadUnaligned(fromByteOffset: position, as: T.self)
        position &+= size
        return T(littleEndian: v)
    }

    // Concrete overloads: callers in other modules get these instead of an unspecialised generic.
    @inlinable @inline(__always)
    package mutating func read(_: UInt8.Type) throws(Overrun) -> UInt8 {
        guard remaining >= 1 else { throw Overrun() }
        let v = base.loadUnaligned(fromByteOffset: position, as: UInt8.self)
        position &+= MemoryLayout<UInt8>.size
        return UInt8(littleEndian: v)
    }

    @inlinable @inline(__always)
    package mutating func read(_: UInt16.Type) throws(Overrun) -> UInt16 {
        guard remaining >= MemoryLayout<UInt16>.size else { throw Overrun() }
        let v = base.loadUnaligned(fromByteOffset: position, as: UInt16.self)
        position &+= MemoryLayout<UInt16>.size
        return UInt16(littleEndian: v)
    }

    @inlinable @inline(__always)
    package mutating func read(_: UInt32.Type) throws(Overrun) -> UInt32 {
        guard remaining >= MemoryLayout<UInt32>.size else { throw Overrun() }
        let v = base.loadUnaligned(fromByteOffset: position, as: UInt32.self)
        position &+= MemoryLayout<UInt32>.size
        return UInt32(littleEndian: v)
    }

    @inlinable @inline(__always)
    package mutating func read(_: UInt64.Type) throws(Overrun) -> UInt64 {
        guard remaining >= MemoryLayout<UInt64>.size else { throw Overrun() }
        let v = base.loadUnaligned(fromByteOffset: position, as: UInt64.self)
        position &+= MemoryLayout<UInt64>.size
        return UInt64(littleEndian: v)
    }

    @inlinable @inline(__always)
    package mutating func read(_: Int64.Type) throws(Overrun) -> Int64 {
        guard remaining >= MemoryLayout<Int64>.size else { throw Overrun() }
        let v = base.loadUnaligned(fromByteOffset: position, as: Int64.self)
        position &+= MemoryLayout<Int64>.size
        return Int64(littleEndian: v)
    }

    @inlinable @inline(__always)
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

    @inlinable @inline(__always)
    package mutating func readSignedVarint() throws(Overrun) -> Int64 {
        let raw = try readVarint()
        return Int64(bitPattern: raw >> 1) ^ -Int64(bitPattern: raw & 1)
    }

    @inlinable @inline(__always)
    package mutating func readBytes(_ count: Int) throws(Overrun) -> UnsafeRawBufferPointer {
        guard count >= 0, remaining >= count else { throw Overrun() }
        let slice = UnsafeRawBufferPointer(rebasing: base[position..<(position + count)])
        position &+= count
        return slice
    }

    @inlinable package mutating func skip(_ count: Int) throws(Overrun) {
        guard count >= 0, remaining >= count else { throw Overrun() }
        position &+= count
    }
}
