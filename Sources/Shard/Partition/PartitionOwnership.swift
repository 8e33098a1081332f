/// The ownership of one partition by a shard node, as a pure state machine: idle → acquiring →
/// serving → releasing → idle, or acquiring → failed → (retry) acquiring.
///
/// Each event returns the action the node must carry out; the node performs it, awaits, and feeds
/// the result back as the next event, so the state is re-checked after every await: a release
/// that arrives while the partition is being acquired is remembered and carried out as soon as the
/// acquisition ends, and a request that arrives while it is being released waits for neither.
/// Generic over the owner and the waiter so tests drive it without I/O.
struct PartitionOwnership<Owner, Waiter> {
    enum State {
        /// Not held.
        case idle
        /// Being acquired; `waiters` want the owner when it is ready; `releaseRequested` says the
        /// node was told to drop the partition meanwhile.
        case acquiring(waiters: [Waiter], releaseRequested: Bool)
        /// Held and taking commands.
        case serving(Owner)
        /// Being released (in-flight appends finishing, snapshot, unlock).
        case releasing(Owner)
        /// The last acquisition failed; requests get the error until one retries.
        case failed(any Error)
    }

    private(set) var state: State = .idle

    /// What to do for a request that needs the owner.
    enum RequestAction {
        /// Serve it with this owner.
        case serve(Owner)
        /// Acquire the partition (the caller does it, then reports ``acquired(_:)`` or
        /// ``acquisitionFailed(_:)``).
        case acquire
        /// Another request is acquiring: queue a waiter with ``wait(_:)``.
        case wait
        /// Refuse it: the partition is being released, or the node may not hold it.
        case refuse
    }

    /// A request needs the owner; `allowed` says whether the node may hold the partition now.
    mutating func request(allowed: Bool) -> RequestAction {
        switch state {
        case .serving(let owner):
            return .serve(owner)
        case .acquiring(_, let releaseRequested):
            return releaseRequested ? .refuse : .wait
        case .releasing:
            return .refuse
        case .idle, .failed:
            guard allowed else { return .refuse }
            state = .acquiring(waiters: [], releaseRequested: false)
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
        case .acquiring(var waiters, false):
            waiters.append(waiter)
            state = .acquiring(waiters: waiters, releaseRequested: false)
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
        guard case .acquiring(let waiters, let releaseRequested) = state else {
            preconditionFailure("acquired a partition that was not being acquired")
        }
        if releaseRequested {
            state = .releasing(owner)
            return .release(owner, refuse: waiters)
        }
        state = .serving(owner)
        return .serve(owner, resume: waiters)
    }

    /// The acquisition failed: the waiters get the error; the next request retries.
    mutating func acquisitionFailed(_ error: any Error) -> [Waiter] {
        guard case .acquiring(let waiters, _) = state else {
            preconditionFailure("an acquisition failed that was not running")
        }
        state = .failed(error)
        return waiters
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
        case .acquiring(let waiters, _):
            // Carried out when the acquisition ends (see ``acquired(_:)``).
            state = .acquiring(waiters: waiters, releaseRequested: true)
            return .none
        case .failed:
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
}
