/// An amount of money in hundredths, parsed from text as an exact decimal: never through a
/// floating-point number, so `0.1 + 0.2` problems, NaN and infinities cannot arise.
public struct MoneyAmount: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The amount in hundredths (cents).
    public let cents: Int64

    /// The largest amount a guess or result may be: 999,999,999,999.99.
    public static let maximumCents: Int64 = 99_999_999_999_999

    public init?(cents: Int64) {
        guard cents > 0, cents <= MoneyAmount.maximumCents else { return nil }
        self.cents = cents
    }

    /// Parses `1234`, `1234.5`, `1,234.56`, `$1,234.56`, `0.05` (an optional `$`, digits without
    /// leading zeros optionally grouped by commas in threes, at most two decimals). Refuses anything
    /// else: signs, exponents, `NaN`, `inf`, spaces inside, leading zeros, three decimals, zero, and
    /// amounts above 999,999,999,999.99.
    public init?(parsing text: String) {
        var bytes = Array(text.utf8)
        if bytes.first == UInt8(ascii: "$") { bytes.removeFirst() }
        guard !bytes.isEmpty, bytes.count <= 24 else { return nil }
        let point = bytes.firstIndex(of: UInt8(ascii: "."))
        let whole = point.map { Array(bytes[..<$0]) } ?? bytes
        let fraction = point.map { Array(bytes[($0 + 1)...]) } ?? []
        guard !whole.isEmpty, fraction.count <= 2, point == nil || !fraction.isEmpty,
            fraction.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 })
        else { return nil }
        // Commas only as thousands separators: groups of three after the first of one to three.
        let groups = whole.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false)
        if groups.count > 1 {
            guard (1...3).contains(groups[0].count), groups.dropFirst().allSatisfy({ $0.count == 3 }) else {
                return nil
            }
        }
        let digits = Array(groups.joined())
        guard digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), digits.count <= 12 else { return nil }
        // No leading zeros: one way to write each amount (`0.5`, never `00.5` or `0,500`).
        guard digits.count == 1 || digits[0] != UInt8(ascii: "0") else { return nil }
        var cents: Int64 = 0
        for d in digits { cents = cents * 10 + Int64(d - 0x30) }
        let padded = fraction + Array(repeating: UInt8(ascii: "0"), count: 2 - fraction.count)
        for d in padded { cents = cents * 10 + Int64(d - 0x30) }
        self.init(cents: cents)
    }

    /// `1,234.56`.
    public var description: String { MoneyAmount.format(cents) }

    /// Hundredths as `1,234.56` (negative with a leading `-`).
    public static func format(_ cents: Int64) -> String {
        let whole = GuildState.grouped(cents / 100)
        let rest = (cents % 100).magnitude
        let sign = cents < 0 && cents / 100 == 0 ? "-" : ""
        return sign + whole + "." + (rest < 10 ? "0" : "") + String(rest)
    }

    public static func < (a: MoneyAmount, b: MoneyAmount) -> Bool { a.cents < b.cents }
}
