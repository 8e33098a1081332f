/// Discord's rate limits as a pure state machine: what a request must wait for, and what a response's
/// headers teach. ``DiscordRateLimiter`` owns one and does the waiting.
///
/// Limits are kept per bucket **and** major id (guild or channel): the `X-RateLimit-Bucket` hash
/// names a route's bucket but not the major id it is counted under. Until a route's bucket is known
/// its requests are limited by the route and major id alone. A global window allows
/// ``globalPerSecond`` requests per second; a 429 blocks its bucket (or everything, when global) until
/// its `retry_after` has passed. 401, 403 and non-shared 429 answers count as invalid requests; when
/// ``invalidLimit`` of them fall in 10 minutes, nothing more is sent until the oldest ages out.
public struct RateLimitState: Sendable {
    public typealias Instant = ContinuousClock.Instant

    struct Bucket {
        var remaining: Int
        var resetAt: Instant
    }

    /// What a response said about limits.
    public struct Headers: Sendable, Equatable {
        public var status: Int
        public var bucket: String?
        public var remaining: Int?
        /// Seconds until the bucket resets.
        public var resetAfter: Double?
        /// Seconds to wait after a 429 (the body's `retry_after`, else the `Retry-After` header).
        public var retryAfter: Double?
        public var global = false
        /// `user`, `global` or `shared`.
        public var scope: String?

        public init(
            status: Int, bucket: String? = nil, remaining: Int? = nil, resetAfter: Double? = nil,
            retryAfter: Double? = nil, global: Bool = false, scope: String? = nil
        ) {
            self.status = status
            self.bucket = bucket
            self.remaining = remaining
            self.resetAfter = resetAfter
            self.retryAfter = retryAfter
            self.global = global
            self.scope = scope
        }
    }

    public let globalPerSecond: Int
    /// Invalid requests allowed per 10 minutes. Default 5,000 (Discord bans at 10,000).
    public var invalidLimit = 5000

    var bucketOfRoute: [String: String] = [:]
    var buckets: [String: Bucket] = [:]
    var globalBlockedUntil: Instant?
    /// Send times within the last second, oldest first.
    var recent: [Instant] = []
    var recentStart = 0
    var invalid: [Instant] = []
    var invalidStart = 0

    public init(globalPerSecond: Int = 50) {
        precondition(globalPerSecond > 0)
        self.globalPerSecond = globalPerSecond
    }

    func key(_ route: String, _ major: String) -> String { (bucketOfRoute[route] ?? "route:" + route) + "|" + major }

    /// Takes a slot for a request on `route` (`PUT /guilds/{guild}/members/{user}/roles/{role}`) under
    /// `major`: nil when it may go now (the slot is counted), else how long to wait before asking again.
    public mutating func reserve(route: String, major: String, now: Instant) -> Duration? {
        var wait: Duration = .zero
        if let until = globalBlockedUntil, now < until { wait = max(wait, now.duration(to: until)) }
        while recentStart < recent.count, recent[recentStart].duration(to: now) >= .seconds(1) { recentStart += 1 }
        if recent.count - recentStart >= globalPerSecond {
            wait = max(wait, now.duration(to: recent[recentStart].advanced(by: .seconds(1))))
        }
        while invalidStart < invalid.count, invalid[invalidStart].duration(to: now) >= .seconds(600) {
            invalidStart += 1
        }
        if invalid.count - invalidStart >= invalidLimit {
            wait = max(wait, now.duration(to: invalid[invalidStart].advanced(by: .seconds(600))))
        }
        let k = key(route, major)
        if var bucket = buckets[k] {
            if now >= bucket.resetAt {
                buckets.removeValue(forKey: k)
            } else if bucket.remaining <= 0 {
                wait = max(wait, now.duration(to: bucket.resetAt))
            } else if wait == .zero {
                bucket.remaining -= 1
                buckets[k] = bucket
            }
        }
        guard wait == .zero else { return wait }
        recent.append(now)
        if recentStart > 1024 {
            recent.removeFirst(recentStart)
            recentStart = 0
        }
        return nil
    }

    /// Learns from a response to a request on `route` under `major`, received at `now`.
    public mutating func record(route: String, major: String, _ headers: Headers, now: Instant) {
        if let bucket = headers.bucket { bucketOfRoute[route] = bucket }
        let k = key(route, major)
        if headers.status == 401 || headers.status == 403 || (headers.status == 429 && headers.scope != "shared") {
            invalid.append(now)
            if invalidStart > 1024 {
                invalid.removeFirst(invalidStart)
                invalidStart = 0
            }
        }
        if headers.status == 429 {
            let until = now.advanced(by: Self.milliseconds(headers.retryAfter ?? headers.resetAfter ?? 1))
            if headers.global || headers.scope == "global" {
                globalBlockedUntil = max(globalBlockedUntil ?? until, until)
            } else {
                buckets[k] = Bucket(remaining: 0, resetAt: until)
            }
            return
        }
        if let remaining = headers.remaining, let resetAfter = headers.resetAfter {
            let resetAt = now.advanced(by: Self.milliseconds(resetAfter))
            // Responses can arrive out of order: the lower count of the same window wins.
            if let known = buckets[k], known.resetAt >= resetAt.advanced(by: .milliseconds(-5)) {
                buckets[k] = Bucket(remaining: min(known.remaining, remaining), resetAt: max(known.resetAt, resetAt))
            } else {
                buckets[k] = Bucket(remaining: remaining, resetAt: resetAt)
            }
        }
    }

    /// `seconds` as a duration, rounded up to whole milliseconds and clamped to 0 … 1 hour (a server's
    /// number is never trusted to fit an integer).
    static func milliseconds(_ seconds: Double) -> Duration {
        guard seconds.isFinite, seconds > 0 else { return .zero }
        return .milliseconds(Int64((min(seconds, 3600) * 1000).rounded(.up)))
    }
}
