/// A Discord guild (server), identified by its snowflake.
///
/// Every record in the log belongs to exactly one guild. The guild decides the record's partition
/// (see ``DataDirectory/partition(for:)``) and is what guild-filtered reads select on.
public struct GuildID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    public var rawValue: UInt64

    @inlinable
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    @inlinable
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }

    public var description: String { String(rawValue) }

    public static func < (lhs: GuildID, rhs: GuildID) -> Bool { lhs.rawValue < rhs.rawValue }
}
