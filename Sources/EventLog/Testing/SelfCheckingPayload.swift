/// Payloads that prove their own integrity, for crash and fuzz tests and `tally log append-test`:
/// the writer id, a counter and the length, then bytes generated from them. A reader recomputes the
/// bytes from the first 16 and so can tell an intact record from a damaged or invented one.
package enum SelfCheckingPayload {
    package static let headerSize = 16

    package static func make(writer: UInt32, counter: UInt64, length: Int) -> [UInt8] {
        let total = max(headerSize, length)
        var out = ByteWriter(capacity: total)
        out.write(writer)
        out.write(counter)
        out.write(UInt32(total))
        var state = seed(writer: writer, counter: counter)
        while out.count < total {
            state = StableHash.mix64(state)
            withUnsafeBytes(of: state.littleEndian) { out.write(bytes: $0.prefix(total - out.count)) }
        }
        return out.bytes
    }

    /// The writer and counter of an intact payload; nil if any byte is wrong.
    package static func check(_ payload: UnsafeRawBufferPointer) -> (writer: UInt32, counter: UInt64)? {
        guard payload.count >= headerSize else { return nil }
        var reader = ByteReader(payload)
        guard let writer = try? reader.read(UInt32.self), let counter = try? reader.read(UInt64.self),
            let length = try? reader.read(UInt32.self), Int(length) == payload.count
        else { return nil }
        let expected = make(writer: writer, counter: counter, length: payload.count)
        return expected.withUnsafeBytes { $0.elementsEqual(payload) } ? (writer, counter) : nil
    }

    private static func seed(writer: UInt32, counter: UInt64) -> UInt64 {
        StableHash.mix64(UInt64(writer) << 40 ^ counter)
    }
}
