/// The ownership of one partition by a shard node, as a pure state machine: idle → acquiring →
/// serving → releasing → idle; acquiring → failed → (after a backoff) acquiring; serving →
/// recovering (an append failed) → failed → acquiring; and acquiring → quarantined when the log is
/// damaged inside acknowledged data.
///
/// Each event returns the action the node must carry out; the node performs it, awaits, and feeds
/// the result back as the next event, so the state is re-checked after every await: a release
/// that arrives while the partition is being acquired is remembered and carried out as soon as the
/// acquisition ends, and a request that arrives while it is being released waits for neither.
/// Generic over the owner and the waiter so tests drive it without I/O; time enters as arguments.
struct PartitionOwnership<Owner, Waiter> {
    enum State {
        /// Not held.
        case idle
        /// Being acquired; `waiters` want the owner when it is ready; `releaseRequested` says the
        /// node was told to drop the partition meanwhile; `failures` counts the failed attempts
        /// before this one (for the backoff).
        case acquiring(waiters: [Waiter], releaseRequested: Bool, failures: Int)
        /// Held and taking commands.
        case serving(Owner)
        /// Being released (in-flight appends finishing, snapshot, unlock).
        case releasing(Owner)
        /// The owner's append failed: it is being released so that a new owner can recover the
        /// log's tail. `releaseRequested`: the node was told to drop the partition meanwhile.
        case recovering(Owner, cause: any Error, releaseRequested: Bool)
        /// The last acquisition failed, or an append did: requests are refused until `retryAt`,
        /// then the next one acquires again. `failures` in a row so far.
        case failed(any Error, retryAt: ContinuousClock.Instant, failures: Int)
        /// The log is damaged inside acknowledged data: nobody serves it until an operator repairs
        /// it and the node starts again.
        case quarantined(any Error)
    }

    private(set) var state: State = .idle

    /// What to do for a request that needs the owner.
    enum RequestAction {
        /// Serve it with this owner.
        case serve(Owner)
        /// Acquire the partition (the caller does it, then reports ``acquired(_:)`` or
        /// ``acquisitionFailed(_:retryAt:)``).
        case acquire
        /// Another request is acquiring: queue a waiter with ``wait(_:)``.
        case wait
        /// Refuse it: the partition is being released, or the node may not hold it.
        case refuse
        /// Refuse it for now: the partition recovers from a failure; retry after `retryAfter`
        /// (nil: as soon as the failed owner is released).
        case backOff(any Error, retryAfter: Duration?)
        /// Refuse it until the damage is repaired.
        case damaged(any Error)
    }

    /// A request needs the owner; `allowed` says whether the node may hold the partition now.
    mutating func request(allowed: Bool, now: ContinuousClock.Instant) -> RequestAction {
        switch state {
        case .serving(let owner):
            return .serve(owner)
        case .acquiring(_, let releaseRequested, _):
            return releaseRequested ? .refuse : .wait
        case .releasing:
            return .refuse
        case .recovering(_, let cause, _):
            return .backOff(cause, retryAfter: nil)
        case .quarantined(let damage):
            return .damaged(damage)
        case .failed(let error, let retryAt, let failures):
            guard allowed else { return .refuse }
            if now < retryAt { return .backOff(error, retryAfter: now.duration(to: retryAt)) }
            state = .acquiring(waiters: [], releaseRequested: false, failures: failures)
            return .acquire
        case .idle:
            guard allowed else { return .refuse }
            state = .acquiring(waiters: [], releaseRequested: false, failures: 0)
            return .acquire
        }
    }

    /// What became of a waiter.
    enum WaitAction {
        /// Queued: it is resumed when the acquisition ends.
        case queued
        /// The acquisition ended meanwhile: serve it with this owner.
        case serve(Owner)
        /// The partition is no longer being acquired for this node: refuse it.
        case refuse
    }

    /// Queues a waiter for the running acquisition (the state is checked again: it may have ended).
    mutating func wait(_ waiter: Waiter) -> WaitAction {
        switch state {
        case .acquiring(var waiters, false, let failures):
            waiters.append(waiter)
            state = .acquiring(waiters: waiters, releaseRequested: false, failures: failures)
            return .queued
        case .serving(let owner):
            return .serve(owner)
        default:
            return .refuse
        }
    }

    /// What to do when an acquisition ends.
    enum AcquiredAction {
        /// Serve: hand the owner to these waiters.
        case serve(Owner, resume: [Waiter])
        /// The node was told to release meanwhile: release the new owner at once, refusing these waiters.
        case release(Owner, refuse: [Waiter])
    }

    /// The acquisition succeeded.
    mutating func acquired(_ owner: Owner) -> AcquiredAction {
        guard case .acquiring(let waiters, let releaseRequested, _) = state else {
            preconditionFailure("acquired a partition that was not being acquired")
        }
        if releaseRequested {
            state = .releasing(owner)
            return .release(owner, refuse: waiters)
        }
        state = .serving(owner)
        return .serve(owner, resume: waiters)
    }

    /// How many acquisitions in a row have failed before the one running now (0 for a first try).
    var failuresSoFar: Int {
        switch state {
        case .acquiring(_, _, let failures), .failed(_, _, let failures): failures
        default: 0
        }
    }

    /// The acquisition failed: the waiters get the error; the first request at or after `retryAt`
    /// tries again.
    mutating func acquisitionFailed(_ error: any Error, retryAt: ContinuousClock.Instant) -> [Waiter] {
        guard case .acquiring(let waiters, let releaseRequested, let failures) = state else {
            preconditionFailure("an acquisition failed that was not running")
        }
        state = releaseRequested ? .idle : .failed(error, retryAt: retryAt, failures: failures + 1)
        return waiters
    }

    /// The acquisition found damage inside acknowledged data: the waiters get the error, and every
    /// later request too, until the node starts again (or is told to drop the partition).
    mutating func quarantine(_ damage: any Error) -> [Waiter] {
        guard case .acquiring(let waiters, _, _) = state else {
            preconditionFailure("a partition was quarantined that was not being acquired")
        }
        state = .quarantined(damage)
        return waiters
    }

    /// What to do when the owner's append failed.
    enum OwnerFailedAction {
        /// Release this owner (it refuses commands already), then report ``recoveryReleased(retryAt:)``.
        case release(Owner)
        /// Someone else is already dealing with it.
        case none
    }

    /// The serving owner's append failed: its memory is ahead of its log. It must be released and
    /// the partition acquired again, which recovers the log's tail and replays it.
    mutating func ownerFailed(_ cause: any Error, isCurrent: (Owner) -> Bool) -> OwnerFailedAction {
        guard case .serving(let owner) = state, isCurrent(owner) else { return .none }
        state = .recovering(owner, cause: cause, releaseRequested: false)
        return .release(owner)
    }

    /// The failed owner is released: requests back off until `retryAt`, then one acquires again.
    mutating func recoveryReleased(retryAt: ContinuousClock.Instant) {
        guard case .recovering(_, let cause, let releaseRequested) = state else {
            preconditionFailure("a recovery ended that was not running")
        }
        state = releaseRequested ? .idle : .failed(cause, retryAt: retryAt, failures: 1)
    }

    /// What to do when the node must drop the partition.
    enum ReleaseAction {
        /// Release this owner, then report ``released()``.
        case release(Owner)
        /// Nothing held (or already being released).
        case none
    }

    /// The node must drop the partition (the coordinator moved it, or the node shuts down).
    mutating func release() -> ReleaseAction {
        switch state {
        case .serving(let owner):
            state = .releasing(owner)
            return .release(owner)
        case .acquiring(let waiters, _, let failures):
            // Carried out when the acquisition ends (see ``acquired(_:)``).
            state = .acquiring(waiters: waiters, releaseRequested: true, failures: failures)
            return .none
        case .recovering(let owner, let cause, _):
            // Carried out when the failed owner is released (see ``recoveryReleased(retryAt:)``).
            state = .recovering(owner, cause: cause, releaseRequested: true)
            return .none
        case .failed, .quarantined:
            state = .idle
            return .none
        case .idle, .releasing:
            return .none
        }
    }

    /// The release finished: the partition is no longer held.
    mutating func released() {
        state = .idle
    }

    /// The owner, if the partition is being served.
    var owner: Owner? {
        if case .serving(let owner) = state { return owner }
        return nil
    }

    /// The damage, if the partition is quarantined.
    var damage: (any Error)? {
        if case .quarantined(let damage) = state { return damage }
        return nil
    }
}

/// How long a partition waits before it is acquired again after a failure: capped exponential
/// backoff with jitter ("equal jitter": half the delay fixed, half random), so that a disk that
/// stays full is not hammered and several partitions do not retry in lockstep.
public struct ReacquireBackoff: Sendable, Hashable {
    /// The delay after the first failure, before jitter. Default 250 ms.
    public var initial: Duration = .milliseconds(250)
    /// The longest delay, before jitter. Default 30 s.
    public var maximum: Duration = .seconds(30)

    public init() {}

    /// The delay after `failures` failures in a row (≥ 1); `unit` in 0..<1 is the random draw.
    public func delay(afterFailures failures: Int, unit: Double) -> Duration {
        let doublings = min(max(failures - 1, 0), 30)
        let base = min(initial * (1 << doublings), maximum)
        return base / 2 + base / 2 * min(max(unit, 0), 1)
    }
}
