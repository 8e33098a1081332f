/// A strict RFC 8259 JSON reader over bytes, for the command bodies (`CommandRequest+JSON.swift`):
/// it reads values in place, one at a time, without building a tree and without Foundation.
///
/// Two kinds of error: ``Syntax`` (the bytes are not JSON: the whole body is refused) and ``Value``
/// (well-formed JSON of the wrong type or out of range for a field: only the command that holds it
/// is refused). A typed read that throws ``Value`` has consumed the value, so reading goes on after
/// it. It is stricter than Foundation's `JSONDecoder` in what it takes as JSON (no trailing commas;
/// escapes, UTF-8 and number syntax checked everywhere, not only in the fields a command reads).
struct JSONReader {
    /// The bytes are not JSON.
    struct Syntax: Error, Equatable {
        var message: String
        var offset: Int
    }

    /// Well-formed JSON that does not fit the field it is in.
    struct Value: Error, Equatable {
        var message: String
    }

    /// How deep arrays and objects may nest (as Foundation's `JSONDecoder`: 512).
    static let maxDepth = 512

    let bytes: UnsafeBufferPointer<UInt8>
    var index: Int
    var depth = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
        index = 0
        // A UTF-8 byte order mark is skipped, as `JSONDecoder` skips it.
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { index = 3 }
    }

    // MARK: Structure

    func syntax(_ message: String) -> Syntax { Syntax(message: message, offset: index) }

    /// Skips JSON whitespace (space, tab, line feed, carriage return).
    @inline(__always) mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    /// The next byte after whitespace, not consumed; 0 at the end (a NUL byte is no token either).
    @inline(__always) mutating func peek() -> UInt8 {
        skipWhitespace()
        return index < bytes.count ? bytes[index] : 0
    }

    /// Consumes `byte` after whitespace, or throws.
    @inline(__always) mutating func expect(_ byte: UInt8, _ what: StaticString) throws(Syntax) {
        guard peek() == byte else { throw syntax("expected \(what)") }
        index += 1
    }

    /// After the last value: only whitespace may follow.
    mutating func expectEnd() throws(Syntax) {
        skipWhitespace()
        guard index == bytes.count else { throw syntax("unexpected bytes after the JSON value") }
    }

    /// Enters an object or array (its opening byte already consumed).
    @inline(__always) mutating func enter() throws(Syntax) {
        depth += 1
        guard depth <= Self.maxDepth else { throw syntax("arrays and objects nest deeper than \(Self.maxDepth)") }
    }

    /// Reads an object's members: `{` already consumed; `member` is called with the reader on each
    /// value, after its key (raw bytes, escapes undone). Consumes the closing `}`.
    mutating func readMembers(_ member: (inout JSONReader, KeyBytes) throws(Syntax) -> Void) throws(Syntax) {
        try enter()
        if peek() == UInt8(ascii: "}") {
            index += 1
            depth -= 1
            return
        }
        while true {
            guard peek() == UInt8(ascii: "\"") else { throw syntax("expected a string key") }
            let key = try readKey()
            try expect(UInt8(ascii: ":"), "':' after a key")
            try member(&self, key)
            switch peek() {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"):
                index += 1
                depth -= 1
                return
            default: throw syntax("expected ',' or '}' in an object")
            }
        }
    }

    /// Reads an array's elements: `[` already consumed; `element` reads each. Consumes the `]`.
    mutating func readElements(_ element: (inout JSONReader) throws(Syntax) -> Void) throws(Syntax) {
        try enter()
        if peek() == UInt8(ascii: "]") {
            index += 1
            depth -= 1
            return
        }
        while true {
            try element(&self)
            switch peek() {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "]"):
                index += 1
                depth -= 1
                return
            default: throw syntax("expected ',' or ']' in an array")
            }
        }
    }

    /// Checks and skips one value of any type.
    mutating func skipValue() throws(Syntax) {
        switch peek() {
        case UInt8(ascii: "{"):
            index += 1
            try readMembers { (r: inout JSONReader, _: KeyBytes) throws(Syntax) in try r.skipValue() }
        case UInt8(ascii: "["):
            index += 1
            try readElements { (r: inout JSONReader) throws(Syntax) in try r.skipValue() }
        case UInt8(ascii: "\""): try skipString()
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): _ = try readNumber()
        default: throw syntax(index < bytes.count ? "unexpected byte" : "unexpected end of the body")
        }
    }

    /// Consumes the literal `word` (`true`, `false`, `null`) at the current position.
    mutating func literal(_ word: StaticString) throws(Syntax) {
        let n = word.utf8CodeUnitCount
        guard index + n <= bytes.count else { throw syntax("unexpected end of the body") }
        let p = word.utf8Start
        for k in 0..<n where bytes[index + k] != p[k] { throw syntax("invalid literal") }
        index += n
    }

    /// Whether the next value is `null` (consumed if so).
    mutating func readNull() throws(Syntax) -> Bool {
        guard peek() == UInt8(ascii: "n") else { return false }
        try literal("null")
        return true
    }

    // MARK: Strings

    /// A key's bytes: a slice of the body where it has no escapes, else the unescaped copy.
    struct KeyBytes {
        var start: UnsafePointer<UInt8>?
        var count: Int
        var unescaped: [UInt8]?

        func withBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
            if let unescaped { return unescaped.withUnsafeBufferPointer(body) }
            return body(UnsafeBufferPointer(start: start, count: count))
        }
    }

    /// Reads a key (the reader at its opening quote).
    mutating func readKey() throws(Syntax) -> KeyBytes {
        let (start, end, clean) = try scanString()
        if clean { return KeyBytes(start: bytes.baseAddress.map { $0 + start }, count: end - start) }
        let copy = try unescape(start, end)
        return KeyBytes(start: nil, count: copy.count, unescaped: copy)
    }

    /// Reads a string value (the reader at its opening quote).
    mutating func readString() throws(Syntax) -> String {
        let (start, end, clean) = try scanString()
        if clean {
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
        }
        return String(decoding: try unescape(start, end), as: UTF8.self)
    }

    /// Checks and skips a string (the reader at its opening quote).
    mutating func skipString() throws(Syntax) {
        let (start, end, clean) = try scanString()
        if !clean { _ = try unescape(start, end) }
    }

    /// Finds the end of the string at the reader (at its opening quote) and consumes it. Returns its
    /// contents' bounds and whether they are plain (no escapes) and valid UTF-8 as they stand. Raw
    /// control characters and invalid UTF-8 are syntax errors.
    @inline(__always) private mutating func scanString() throws(Syntax) -> (Int, Int, Bool) {
        index += 1
        let start = index
        var escapes = false
        var ascii = true
        while index < bytes.count {
            let b = bytes[index]
            if b == UInt8(ascii: "\"") {
                let end = index
                index += 1
                if !ascii, !escapes, !Self.validUTF8(bytes[start..<end]) {
                    index = start
                    throw syntax("a string is not valid UTF-8")
                }
                return (start, end, !escapes)
            }
            if b == UInt8(ascii: "\\") {
                escapes = true
                index += 2
                continue
            }
            if b < 0x20 { throw syntax("a control character in a string must be escaped") }
            if b >= 0x80 { ascii = false }
            index += 1
        }
        throw syntax("unterminated string")
    }

    /// The contents of a string with escapes, undone: escapes checked (`\uXXXX` with surrogate
    /// pairs paired), the result checked as UTF-8.
    private func unescape(_ start: Int, _ end: Int) throws(Syntax) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(end - start)
        var i = start
        func fail(_ message: String) -> Syntax { Syntax(message: message, offset: i) }
        func hex4(_ at: Int) throws(Syntax) -> UInt32 {
            guard at + 4 <= end else { throw fail("\\u needs four hex digits") }
            var v: UInt32 = 0
            for k in at..<at + 4 {
                let c = bytes[k]
                let d: UInt8
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c - UInt8(ascii: "A") + 10
                default: throw fail("\\u needs four hex digits")
                }
                v = v << 4 | UInt32(d)
            }
            return v
        }
        while i < end {
            let b = bytes[i]
            guard b == UInt8(ascii: "\\") else {
                out.append(b)
                i += 1
                continue
            }
            guard i + 1 < end else { throw fail("a string ends in a lone backslash") }
            let e = bytes[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4(i)
                i += 4
                if (0xD800...0xDBFF).contains(scalar) {
                    guard i + 6 <= end, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else {
                        throw fail("a high surrogate must be followed by a low one")
                    }
                    let low = try hex4(i + 2)
                    guard (0xDC00...0xDFFF).contains(low) else {
                        throw fail("a high surrogate must be followed by a low one")
                    }
                    i += 6
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    throw fail("a low surrogate without a high one")
                }
                // Every value here is a valid scalar (surrogates handled above).
                for unit in UTF8.encode(Unicode.Scalar(scalar)!)! { out.append(unit) }
            default: throw fail("invalid escape")
            }
        }
        guard Self.validUTF8(out[...]) else { throw fail("a string is not valid UTF-8") }
        return out
    }

    /// Whether `slice` is valid UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF).
    static func validUTF8<C: Collection<UInt8>>(_ slice: C) -> Bool {
        var it = slice.makeIterator()
        var decoder = UTF8()
        while true {
            switch decoder.decode(&it) {
            case .scalarValue: continue
            case .emptyInput: return true
            case .error: return false
            }
        }
    }

    // MARK: Numbers

    /// A number as written: its bounds, whether it is a plain integer (no fraction, no exponent) and,
    /// for a plain integer, its sign and magnitude (nil when the magnitude overflows 64 bits).
    struct Number {
        var start: Int
        var end: Int
        var plain: Bool
        var negative: Bool
        var magnitude: UInt64?
    }

    /// Reads a number (the reader at its first byte), checking RFC 8259's grammar.
    mutating func readNumber() throws(Syntax) -> Number {
        let start = index
        var negative = false
        if bytes[index] == UInt8(ascii: "-") {
            negative = true
            index += 1
        }
        func digit(_ i: Int) -> UInt8? {
            guard i < bytes.count else { return nil }
            let d = bytes[i] &- UInt8(ascii: "0")
            return d < 10 ? d : nil
        }
        guard let first = digit(index) else { throw syntax("a number needs a digit") }
        var magnitude: UInt64? = UInt64(first)
        index += 1
        if first != 0 {
            while let d = digit(index) {
                if let m = magnitude {
                    let (t, o1) = m.multipliedReportingOverflow(by: 10)
                    let (s, o2) = t.addingReportingOverflow(UInt64(d))
                    magnitude = o1 || o2 ? nil : s
                }
                index += 1
            }
        }
        var plain = true
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            plain = false
            index += 1
            guard digit(index) != nil else { throw syntax("a fraction needs a digit") }
            while digit(index) != nil { index += 1 }
        }
        if index < bytes.count, bytes[index] | 0x20 == UInt8(ascii: "e") {
            plain = false
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                index += 1
            }
            guard digit(index) != nil else { throw syntax("an exponent needs a digit") }
            while digit(index) != nil { index += 1 }
        }
        return Number(start: start, end: index, plain: plain, negative: negative, magnitude: magnitude)
    }

    /// `number` as a `T`, as `JSONDecoder` reads it: a plain integer exactly; any other number as a
    /// `Double` that `T` holds exactly. Past 2^53, where `JSONDecoder` re-reads the digits as a
    /// `Decimal` and drops any fraction, only a whole number (exactly, from its digits) is taken.
    func integer<T: FixedWidthInteger>(_ number: Number, as: T.Type) -> T? {
        if number.plain {
            guard let m = number.magnitude else { return nil }
            if !number.negative { return T(exactly: m) }
            if m == 0 { return 0 }
            guard T.isSigned, m <= UInt64(Int64.max) + 1 else { return nil }
            return m == UInt64(Int64.max) + 1 ? T(exactly: Int64.min) : T(exactly: -Int64(m))
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[number.start..<number.end]), as: UTF8.self)
        guard let double = Double(text), let value = T(exactly: double) else { return nil }
        if double.magnitude < 9_007_199_254_740_992 { return value }
        return exactInteger(number, as: T.self)
    }

    /// The exact value of a number with a fraction or exponent when it is a whole number `T` holds.
    private func exactInteger<T: FixedWidthInteger>(_ number: Number, as: T.Type) -> T? {
        var digits: [UInt8] = []
        var fraction = 0
        var exponent = 0
        var i = number.start
        if bytes[i] == UInt8(ascii: "-") { i += 1 }
        var inFraction = false
        while i < number.end {
            let b = bytes[i]
            i += 1
            if b == UInt8(ascii: ".") {
                inFraction = true
            } else if b | 0x20 == UInt8(ascii: "e") {
                var sign = 1
                if bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") {
                    sign = bytes[i] == UInt8(ascii: "-") ? -1 : 1
                    i += 1
                }
                while i < number.end {
                    exponent = min(exponent * 10 + Int(bytes[i] - UInt8(ascii: "0")), 1_000_000)
                    i += 1
                }
                exponent *= sign
            } else {
                if !(digits.isEmpty && b == UInt8(ascii: "0")) { digits.append(b - UInt8(ascii: "0")) }
                if inFraction { fraction += 1 }
            }
        }
        var scale = exponent - fraction
        while scale < 0, digits.last == 0 {
            digits.removeLast()
            scale += 1
        }
        guard scale >= 0 || digits.isEmpty, digits.count + max(scale, 0) <= 20 else { return nil }
        var m: UInt64 = 0
        for d in digits + [UInt8](repeating: 0, count: digits.isEmpty ? 0 : scale) {
            let (t, o1) = m.multipliedReportingOverflow(by: 10)
            let (s, o2) = t.addingReportingOverflow(UInt64(d))
            if o1 || o2 { return nil }
            m = s
        }
        return integer(
            Number(start: 0, end: 0, plain: true, negative: bytes[number.start] == UInt8(ascii: "-"), magnitude: m),
            as: T.self)
    }
}
