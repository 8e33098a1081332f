import Synchronization

/// Owns a ``RateLimitState`` shared by every request of a REST client, and waits where it says so.
public final class DiscordRateLimiter: Sendable {
    private let state: Mutex<RateLimitState>

    public init(globalPerSecond: Int = 50) { state = Mutex(RateLimitState(globalPerSecond: globalPerSecond)) }

    /// Returns once a request on `route` under `major` may be sent (its slot is taken).
    ///
    /// - Throws: `CancellationError` when the task is cancelled while waiting.
    public func acquire(route: String, major: String) async throws {
        while true {
            let wait = state.withLock { $0.reserve(route: route, major: major, now: .now) }
            guard let wait else { return }
            try await Task.sleep(for: wait)
        }
    }

    /// Learns from a response.
    public func record(route: String, major: String, _ headers: RateLimitState.Headers) {
        state.withLock { $0.record(route: route, major: major, headers, now: .now) }
    }
}
