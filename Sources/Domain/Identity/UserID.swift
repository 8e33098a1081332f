import EventLog

/// A Discord user, by snowflake.
public struct UserID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public var description: String { String(rawValue) }
    public static func < (a: UserID, b: UserID) -> Bool { a.rawValue < b.rawValue }

    /// An unknown user (events written before the field existed).
    public static let unknown = UserID(0)
}

/// A Kick account, by Kick's numeric user id. A chatter keeps this id across username changes.
public struct KickUserID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public var description: String { "kick:\(rawValue)" }
    public static func < (a: KickUserID, b: KickUserID) -> Bool { a.rawValue < b.rawValue }
}

/// A Discord role, by snowflake.
public struct RoleID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public var description: String { String(rawValue) }
    public static func < (a: RoleID, b: RoleID) -> Bool { a.rawValue < b.rawValue }
}

/// A point-shop item, numbered per guild from 1.
public struct ItemID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(_ rawValue: UInt32) { self.rawValue = rawValue }
    public var description: String { String(rawValue) }
    public static func < (a: ItemID, b: ItemID) -> Bool { a.rawValue < b.rawValue }
}

/// A shop order, numbered per guild from 1.
public struct OrderID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public var description: String { String(rawValue) }
    public static func < (a: OrderID, b: OrderID) -> Bool { a.rawValue < b.rawValue }
}

/// A raffle period, numbered per guild from 1.
public struct PeriodID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(_ rawValue: UInt32) { self.rawValue = rawValue }
    public var description: String { String(rawValue) }
    public static func < (a: PeriodID, b: PeriodID) -> Bool { a.rawValue < b.rawValue }
}
