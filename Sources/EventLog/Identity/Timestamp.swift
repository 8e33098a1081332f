import Glibc

/// A moment, in milliseconds since the Unix epoch (UTC), as records carry it.
public struct Timestamp: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    public var rawValue: Int64

    @inlinable
    public init(rawValue: Int64) { self.rawValue = rawValue }

    @inlinable
    public init(milliseconds: Int64) { self.rawValue = milliseconds }

    public var milliseconds: Int64 { rawValue }

    /// The system's wall-clock time now.
    public static var now: Timestamp {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Timestamp(milliseconds: Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec) / 1_000_000)
    }

    /// ISO 8601 with milliseconds, UTC: `2026-11-25T14:28:51.123Z`.
    public var description: String {
        let ms = rawValue
        let seconds = ms >= 0 ? ms / 1000 : (ms - 999) / 1000
        let millis = ms - seconds * 1000
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let (y, m, d) = Timestamp.civil(fromDays: days)
        func pad(_ v: Int64, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(secondOfDay / 3600, 2)):"
            + "\(pad(secondOfDay / 60 % 60, 2)):\(pad(secondOfDay % 60, 2)).\(pad(millis, 3))Z"
    }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian calendar).
    package static func civil(fromDays z0: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }

    /// Days since 1970-01-01 of a civil date (inverse of ``civil(fromDays:)``).
    package static func days(year y0: Int64, month m: Int64, day d: Int64) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// Parses `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM[:SS[.mmm]]Z` (UTC) or a plain millisecond count.
    public init?(parsing text: String) {
        if let ms = Int64(text) {
            self.init(milliseconds: ms)
            return
        }
        var s = Substring(text)
        if s.hasSuffix("Z") { s = s.dropLast() }
        let parts = s.split(separator: "T", maxSplits: 1)
        let date = parts[0].split(separator: "-")
        guard date.count == 3, let y = Int64(date[0]), let mo = Int64(date[1]), let d = Int64(date[2]),
            (1...12).contains(mo), (1...31).contains(d)
        else { return nil }
        var ms = Timestamp.days(year: y, month: mo, day: d) * 86_400_000
        if parts.count == 2 {
            let time = parts[1].split(separator: ":")
            guard time.count >= 2, let h = Int64(time[0]), let mi = Int64(time[1]), h < 24, mi < 60
            else { return nil }
            ms += h * 3_600_000 + mi * 60_000
            if time.count == 3 {
                guard let sec = Double(time[2]), sec >= 0, sec < 61 else { return nil }
                ms += Int64((sec * 1000).rounded())
            }
        }
        self.init(milliseconds: ms)
    }
}
