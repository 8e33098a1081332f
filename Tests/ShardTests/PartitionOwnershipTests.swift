import Testing

@testable import Shard

/// The ownership state machine, driven with no I/O: owners are strings, waiters numbers.
@Suite struct PartitionOwnershipTests {
    typealias Machine = PartitionOwnership<String, Int>
    struct Boom: Error {}
    let t0 = ContinuousClock.now

    @Test func firstRequestAcquiresOthersWaitAndAllAreServedTheSameOwner() {
        var m = Machine()
        guard case .acquire = m.request(allowed: true, now: t0) else {
            Issue.record("first request must acquire"); return
        }
        guard case .wait = m.request(allowed: true, now: t0), case .queued = m.wait(1) else {
            Issue.record("a second request must wait")
            return
        }
        guard case .wait = m.request(allowed: true, now: t0), case .queued = m.wait(2) else { return }
        guard case .serve("owner-1", let resumed) = m.acquired("owner-1") else {
            Issue.record("the acquisition must serve")
            return
        }
        #expect(resumed == [1, 2])
        guard case .serve("owner-1") = m.request(allowed: true, now: t0) else { Issue.record("must serve"); return }
    }

    @Test func releaseDuringAcquisitionReleasesTheNewOwnerAndRefusesWaiters() {
        var m = Machine()
        _ = m.request(allowed: true, now: t0)
        _ = m.wait(7)
        guard case .none = m.release() else { Issue.record("nothing to release yet"); return }
        // A request arriving now is refused: the partition is leaving.
        guard case .refuse = m.request(allowed: true, now: t0) else { Issue.record("must refuse"); return }
        guard case .release("owner-1", let refused) = m.acquired("owner-1") else {
            Issue.record("the new owner must be released at once")
            return
        }
        #expect(refused == [7])
        guard case .refuse = m.request(allowed: true, now: t0) else { Issue.record("releasing refuses"); return }
        m.released()
        guard case .acquire = m.request(allowed: true, now: t0) else { Issue.record("idle again: acquire"); return }
    }

    @Test func aFailedAcquisitionFailsItsWaitersAndARequestAfterTheBackoffRetries() {
        var m = Machine()
        _ = m.request(allowed: true, now: t0)
        _ = m.wait(3)
        #expect(m.acquisitionFailed(Boom(), retryAt: t0 + .seconds(2)) == [3])
        guard case .failed(_, _, failures: 1) = m.state else { Issue.record("must be failed once"); return }
        guard case .backOff(_, let after) = m.request(allowed: true, now: t0 + .seconds(1)) else {
            Issue.record("a request during the backoff is refused")
            return
        }
        #expect(after == .seconds(1))
        guard case .acquire = m.request(allowed: true, now: t0 + .seconds(2)) else {
            Issue.record("a request after the backoff retries")
            return
        }
        #expect(m.failuresSoFar == 1)
        _ = m.acquisitionFailed(Boom(), retryAt: t0 + .seconds(5))
        guard case .failed(_, _, failures: 2) = m.state else { Issue.record("failures add up"); return }
    }

    @Test func anOwnerWhoseAppendFailedIsReleasedThenReacquiredAfterTheBackoff() {
        var m = Machine()
        _ = m.request(allowed: true, now: t0)
        _ = m.acquired("owner-1")
        guard case .none = m.ownerFailed(Boom(), isCurrent: { $0 == "owner-0" }) else {
            Issue.record("a failure of an owner no longer current changes nothing")
            return
        }
        guard case .release("owner-1") = m.ownerFailed(Boom(), isCurrent: { $0 == "owner-1" }) else {
            Issue.record("the failed owner must be released")
            return
        }
        guard case .none = m.ownerFailed(Boom(), isCurrent: { _ in true }) else {
            Issue.record("one release per failure")
            return
        }
        guard case .backOff(_, nil) = m.request(allowed: true, now: t0) else {
            Issue.record("requests back off while the failed owner is released")
            return
        }
        m.recoveryReleased(retryAt: t0 + .milliseconds(300))
        guard case .backOff(_, let after?) = m.request(allowed: true, now: t0 + .milliseconds(100)) else {
            Issue.record("requests back off until the retry time")
            return
        }
        #expect(after == .milliseconds(200))
        guard case .acquire = m.request(allowed: true, now: t0 + .milliseconds(300)) else {
            Issue.record("then one acquires again")
            return
        }
        guard case .serve("owner-2", _) = m.acquired("owner-2") else { Issue.record("and serves"); return }
    }

    @Test func aReleaseOrderedDuringRecoveryLeavesThePartitionIdle() {
        var m = Machine()
        _ = m.request(allowed: true, now: t0)
        _ = m.acquired("o")
        _ = m.ownerFailed(Boom(), isCurrent: { _ in true })
        guard case .none = m.release() else { Issue.record("the recovery releases it already"); return }
        m.recoveryReleased(retryAt: t0 + .seconds(1))
        guard case .idle = m.state else { Issue.record("released for good: idle"); return }
        guard case .refuse = m.request(allowed: false, now: t0 + .seconds(2)) else {
            Issue.record("no longer granted: refuse")
            return
        }
    }

    @Test func aDamagedPartitionIsQuarantinedUntilTheNodeDropsIt() {
        var m = Machine()
        _ = m.request(allowed: true, now: t0)
        _ = m.wait(4)
        #expect(m.quarantine(Boom()) == [4])
        #expect(m.damage is Boom)
        for later in [t0, t0 + .seconds(3600)] {
            guard case .damaged = m.request(allowed: true, now: later) else {
                Issue.record("a quarantined partition is never acquired again by itself")
                return
            }
        }
        guard case .none = m.release() else { Issue.record("nothing held to release"); return }
        #expect(m.damage == nil)
        guard case .acquire = m.request(allowed: true, now: t0) else { Issue.record("a new grant acquires"); return }
    }

    @Test(arguments: [(1, 0.0, 125), (1, 1.0, 250), (2, 0.5, 375), (3, 0.0, 500), (20, 1.0, 30_000), (20, 0.0, 15_000)])
    func backoffDoublesUpToItsCapWithHalfOfItJittered(failures: Int, unit: Double, milliseconds: Int) {
        #expect(ReacquireBackoff().delay(afterFailures: failures, unit: unit) == .milliseconds(milliseconds))
    }

    @Test func aPartitionNotGrantedIsRefusedAndServingOnesRelease() {
        var m = Machine()
        guard case .refuse = m.request(allowed: false, now: t0) else { Issue.record("not granted: refuse"); return }
        _ = m.request(allowed: true, now: t0)
        _ = m.acquired("o")
        guard case .release("o") = m.release() else { Issue.record("serving: release"); return }
        guard case .none = m.release() else { Issue.record("already releasing"); return }
        m.released()
        #expect(m.owner == nil)
    }
}
