/// A shard process, by the name it registers with (for example `host:port`).
public struct ShardID: RawRepresentable, Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }
    public static func < (a: ShardID, b: ShardID) -> Bool { a.rawValue < b.rawValue }
}
