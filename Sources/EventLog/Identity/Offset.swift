/// The position of a record in its partition's log: 0 for the first record, then one more per record.
public struct Offset: RawRepresentable, Hashable, Comparable, Strideable, Sendable, CustomStringConvertible, Codable {
    public var rawValue: UInt64

    @inlinable
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    @inlinable
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }

    public static let zero = Offset(0)

    public var description: String { String(rawValue) }

    public static func < (lhs: Offset, rhs: Offset) -> Bool { lhs.rawValue < rhs.rawValue }

    public func distance(to other: Offset) -> Int64 { Int64(bitPattern: other.rawValue &- rawValue) }

    public func advanced(by n: Int64) -> Offset { Offset(UInt64(bitPattern: Int64(bitPattern: rawValue) &+ n)) }
}
