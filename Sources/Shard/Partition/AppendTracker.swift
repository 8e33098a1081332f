import EventLog
import Synchronization

/// The appends of one partition owner that are in flight, and the first failure among them, kept
/// outside the owner's actor: appends complete on the log's own thread, which settles them here
/// directly, so a command's caller is resumed without a hop back onto the owner.
final class AppendTracker: Sendable {
    private struct State {
        var inFlight = 0
        var failure: (any Error)?
        var idleWaiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    /// The first append failure, after which the owner refuses everything until reacquired.
    var failure: (any Error)? { state.withLock { $0.failure } }

    /// Whether no append is in flight.
    var isIdle: Bool { state.withLock { $0.inFlight == 0 } }

    /// Counts an append in flight.
    func begin() { state.withLock { $0.inFlight += 1 } }

    /// Settles an append; returns whether `failure` was the first one recorded.
    @discardableResult
    func end(failure: (any Error)?) -> Bool {
        let (waiters, first): ([CheckedContinuation<Void, Never>], Bool) = state.withLock { s in
            s.inFlight -= 1
            var first = false
            if let failure, s.failure == nil {
                s.failure = failure
                first = true
            }
            guard s.inFlight == 0 else { return ([], first) }
            defer { s.idleWaiters.removeAll() }
            return (s.idleWaiters, first)
        }
        for waiter in waiters { waiter.resume() }
        return first
    }

    /// Suspends until no append is in flight.
    func idle() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s -> Bool in
                if s.inFlight == 0 { return true }
                s.idleWaiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }
}

/// One append's completion, awaited by whoever needs it (not necessarily the actor that enqueued it).
final class PendingAppend: Sendable {
    private enum State {
        case waiting(CheckedContinuation<Range<Offset>, any Error>?)
        case done(Result<Range<Offset>, any Error>)
    }

    private let state = Mutex(State.waiting(nil))

    /// Records the outcome and resumes the waiter, if one waits already.
    func complete(_ result: Result<Range<Offset>, any Error>) {
        let waiter: CheckedContinuation<Range<Offset>, any Error>? = state.withLock { s in
            guard case .waiting(let waiter) = s else { return nil }
            s = .done(result)
            return waiter
        }
        waiter?.resume(with: result)
    }

    /// The appended offsets, once durable.
    func value() async throws -> Range<Offset> {
        try await withCheckedThrowingContinuation { continuation in
            let done: Result<Range<Offset>, any Error>? = state.withLock { s in
                switch s {
                case .done(let result): return result
                case .waiting:
                    s = .waiting(continuation)
                    return nil
                }
            }
            if let done { continuation.resume(with: done) }
        }
    }
}
