/// The type of a record's payload, as the domain names it; the log only stores and filters on it.
public struct EventTypeTag: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16

    @inlinable
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    @inlinable
    public init(_ rawValue: UInt16) { self.rawValue = rawValue }

    public var description: String { String(rawValue) }
}
