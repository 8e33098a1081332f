/// An ownership generation of a partition, granted by the coordinator.
///
/// Every batch is stamped with the epoch of the writer that appended it. A writer whose epoch is lower
/// than the newest already written (or fenced in the partition manifest) cannot append.
public struct Epoch: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    public var rawValue: UInt64

    @inlinable
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    @inlinable
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }

    public static let initial = Epoch(1)

    public var description: String { String(rawValue) }

    /// The next generation.
    public var next: Epoch { Epoch(rawValue + 1) }

    public static func < (lhs: Epoch, rhs: Epoch) -> Bool { lhs.rawValue < rhs.rawValue }
}
