import Testing

@testable import Discord

/// The rate limiter's decisions, driven with explicit instants and no I/O.
@Suite struct RateLimitStateTests {
    static let route = "PUT /guilds/{guild}/members/{user}/roles/{role}"
    let t0 = ContinuousClock.now

    func headers(remaining: Int, resetAfter: Double, bucket: String = "abc") -> RateLimitState.Headers {
        RateLimitState.Headers(status: 204, bucket: bucket, remaining: remaining, resetAfter: resetAfter)
    }

    @Test func aBucketWithNothingRemainingWaitsUntilItsReset() {
        var s = RateLimitState()
        #expect(s.reserve(route: Self.route, major: "g1", now: t0) == nil)
        s.record(route: Self.route, major: "g1", headers(remaining: 1, resetAfter: 5), now: t0)
        #expect(s.reserve(route: Self.route, major: "g1", now: t0) == nil)
        let wait = s.reserve(route: Self.route, major: "g1", now: t0)
        #expect(wait == .seconds(5))
        // After the reset it goes again.
        #expect(s.reserve(route: Self.route, major: "g1", now: t0.advanced(by: .seconds(5))) == nil)
    }

    @Test func bucketsAreKeptPerMajorID() {
        var s = RateLimitState()
        s.record(route: Self.route, major: "g1", headers(remaining: 0, resetAfter: 5), now: t0)
        #expect(s.reserve(route: Self.route, major: "g1", now: t0) != nil)
        #expect(s.reserve(route: Self.route, major: "g2", now: t0) == nil)
    }

    @Test func routesSharingABucketShareItsLimit() {
        var s = RateLimitState()
        let other = "DELETE /guilds/{guild}/members/{user}/roles/{role}"
        s.record(route: Self.route, major: "g1", headers(remaining: 0, resetAfter: 2, bucket: "shared"), now: t0)
        // The other route learns its bucket from its first answer.
        s.record(route: other, major: "g1", headers(remaining: 0, resetAfter: 2, bucket: "shared"), now: t0)
        #expect(s.reserve(route: other, major: "g1", now: t0) == .seconds(2))
    }

    @Test func aRateLimitedAnswerBlocksItsBucketForRetryAfter() {
        var s = RateLimitState()
        var h = RateLimitState.Headers(status: 429, bucket: "abc", remaining: 0, resetAfter: 1, retryAfter: 30)
        h.scope = "user"
        s.record(route: Self.route, major: "g1", h, now: t0)
        #expect(s.reserve(route: Self.route, major: "g1", now: t0.advanced(by: .seconds(10))) == .seconds(20))
        #expect(s.reserve(route: Self.route, major: "g2", now: t0) == nil)
    }

    @Test func aGlobalRateLimitBlocksEveryRoute() {
        var s = RateLimitState()
        s.record(
            route: Self.route, major: "g1",
            RateLimitState.Headers(status: 429, retryAfter: 2, global: true, scope: "global"), now: t0)
        #expect(s.reserve(route: "POST /channels/{channel}/messages", major: "c1", now: t0) == .seconds(2))
    }

    @Test func atMostTheGlobalLimitGoesPerSecond() {
        var s = RateLimitState(globalPerSecond: 50)
        for i in 0..<50 {
            #expect(s.reserve(route: "r\(i)", major: "m", now: t0.advanced(by: .milliseconds(i))) == nil)
        }
        let wait = s.reserve(route: "r", major: "m", now: t0.advanced(by: .milliseconds(100)))
        #expect(wait == .milliseconds(900))
        #expect(s.reserve(route: "r", major: "m", now: t0.advanced(by: .seconds(1))) == nil)
    }

    @Test func invalidRequestsAreCappedPerTenMinutes() {
        var s = RateLimitState()
        s.invalidLimit = 3
        for status in [401, 403, 429] {
            var h = RateLimitState.Headers(status: status, retryAfter: 0)
            h.scope = "user"
            s.record(route: "r", major: "m", h, now: t0)
        }
        #expect(s.reserve(route: "other", major: "m", now: t0) == .seconds(600))
        // Shared-scope 429s do not count.
        var t = RateLimitState()
        t.invalidLimit = 1
        t.record(route: "r", major: "m", RateLimitState.Headers(status: 429, retryAfter: 0, scope: "shared"), now: t0)
        #expect(t.reserve(route: "other", major: "m", now: t0) == nil)
    }
}
