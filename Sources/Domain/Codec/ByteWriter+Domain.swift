import EventLog

extension ByteWriter {
    mutating func writeString(_ s: String) {
        var s = s
        s.withUTF8 { utf8 in
            writeVarint(UInt64(utf8.count))
            write(bytes: UnsafeRawBufferPointer(utf8))
        }
    }

    mutating func writeData(_ bytes: [UInt8]) {
        writeVarint(UInt64(bytes.count))
        write(bytes: bytes)
    }

    mutating func writeBool(_ b: Bool) { write(UInt8(b ? 1 : 0)) }

    mutating func writeInt(_ v: Int64) { writeSignedVarint(v) }

    mutating func writeTime(_ t: Timestamp) { writeSignedVarint(t.rawValue) }

    mutating func writeSnowflake(_ v: UInt64) { write(v) }

    mutating func writeOptionalTime(_ t: Timestamp?) {
        writeBool(t != nil)
        if let t { writeTime(t) }
    }

    mutating func writePerson(_ p: PersonID) {
        switch p {
        case .discord(let u):
            write(UInt8(0))
            write(u.rawValue)
        case .kick(let k):
            write(UInt8(1))
            writeVarint(k.rawValue)
        case .kickName(let name):
            write(UInt8(3))
            writeString(name)
        }
    }

    mutating func writeOptionalPerson(_ p: PersonID?) {
        if let p { writePerson(p) } else { write(UInt8(2)) }
    }
}

extension ByteReader {
    mutating func readString() throws(Overrun) -> String {
        let n = try readVarint()
        guard n <= UInt64(remaining) else { throw Overrun() }
        let bytes = try readBytes(Int(n))
        return String(decoding: bytes, as: UTF8.self)
    }

    mutating func readData() throws(Overrun) -> [UInt8] {
        let n = try readVarint()
        guard n <= UInt64(remaining) else { throw Overrun() }
        return Array(try readBytes(Int(n)))
    }

    mutating func readBool() throws(Overrun) -> Bool {
        let b = try read(UInt8.self)
        guard b <= 1 else { throw Overrun() }
        return b == 1
    }

    mutating func readInt() throws(Overrun) -> Int64 { try readSignedVarint() }

    mutating func readTime() throws(Overrun) -> Timestamp { Timestamp(rawValue: try readSignedVarint()) }

    mutating func readSnowflake() throws(Overrun) -> UInt64 { try read(UInt64.self) }

    mutating func readOptionalTime() throws(Overrun) -> Timestamp? { try readBool() ? try readTime() : nil }

    mutating func readPerson() throws(Overrun) -> PersonID {
        guard let p = try readOptionalPerson() else { throw Overrun() }
        return p
    }

    mutating func readOptionalPerson() throws(Overrun) -> PersonID? {
        switch try read(UInt8.self) {
        case 0: return .discord(UserID(try read(UInt64.self)))
        case 1: return .kick(KickUserID(try readVarint()))
        case 2: return nil
        case 3: return .kickName(try readString())
        default: throw Overrun()
        }
    }
}
