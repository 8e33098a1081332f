/// A partition of the data directory: the unit of ownership, logging, recovery and handoff.
public struct PartitionID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    public var rawValue: UInt32

    @inlinable
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    @inlinable
    public init(_ rawValue: UInt32) { self.rawValue = rawValue }

    public var description: String { String(rawValue) }

    /// The partition's directory name inside a data directory, zero-padded so listings sort.
    public var directoryName: String {
        let digits = String(rawValue)
        return "p" + String(repeating: "0", count: max(0, 5 - digits.count)) + digits
    }

    public static func < (lhs: PartitionID, rhs: PartitionID) -> Bool { lhs.rawValue < rhs.rawValue }
}
