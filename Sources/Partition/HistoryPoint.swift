public import Domain
public import EventLog

/// A moment in a partition's history: an offset (exclusive) or a time (inclusive).
public enum HistoryPoint: Sendable, Hashable, CustomStringConvertible {
    /// Everything before this offset.
    case offset(Offset)
    /// Everything stamped at or before this time.
    case time(Timestamp)

    public var description: String {
        switch self {
        case .offset(let o): "offset \(o)"
        case .time(let t): "\(t)"
        }
    }

    /// Parses an offset (digits) or a time (`2026-12-01`, `2026-12-01T12:00Z`).
    public init?(parsing text: String) {
        if let value = UInt64(text), text.count < 13 {
            self = .offset(Offset(value))
        } else if let t = Timestamp(parsing: text) {
            self = .time(t)
        } else {
            return nil
        }
    }

    public func includes(_ event: StoredEvent) -> Bool {
        switch self {
        case .offset(let o): event.offset < o
        case .time(let t): event.timestamp <= t
        }
    }
}
