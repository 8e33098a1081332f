import Testing

@testable import Shard

/// The ownership state machine, driven with no I/O: owners are strings, waiters numbers.
@Suite struct PartitionOwnershipTests {
    typealias Machine = PartitionOwnership<String, Int>
    struct Boom: Error {}

    @Test func firstRequestAcquiresOthersWaitAndAllAreServedTheSameOwner() {
        var m = Machine()
        guard case .acquire = m.request(allowed: true) else { Issue.record("first request must acquire"); return }
        guard case .wait = m.request(allowed: true), case .queued = m.wait(1) else {
            Issue.record("a second request must wait")
            return
        }
        guard case .wait = m.request(allowed: true), case .queued = m.wait(2) else { return }
        guard case .serve("owner-1", let resumed) = m.acquired("owner-1") else {
            Issue.record("the acquisition must serve")
            return
        }
        #expect(resumed == [1, 2])
        guard case .serve("owner-1") = m.request(allowed: true) else { Issue.record("must serve"); return }
    }

    @Test func releaseDuringAcquisitionReleasesTheNewOwnerAndRefusesWaiters() {
        var m = Machine()
        _ = m.request(allowed: true)
        _ = m.wait(7)
        guard case .none = m.release() else { Issue.record("nothing to release yet"); return }
        // A request arriving now is refused: the partition is leaving.
        guard case .refuse = m.request(allowed: true) else { Issue.record("must refuse"); return }
        guard case .release("owner-1", let refused) = m.acquired("owner-1") else {
            Issue.record("the new owner must be released at once")
            return
        }
        #expect(refused == [7])
        guard case .refuse = m.request(allowed: true) else { Issue.record("releasing refuses"); return }
        m.released()
        guard case .acquire = m.request(allowed: true) else { Issue.record("idle again: acquire"); return }
    }

    @Test func aFailedAcquisitionFailsItsWaitersAndTheNextRequestRetries() {
        var m = Machine()
        _ = m.request(allowed: true)
        _ = m.wait(3)
        #expect(m.acquisitionFailed(Boom()) == [3])
        guard case .failed = m.state else { Issue.record("must be failed"); return }
        guard case .acquire = m.request(allowed: true) else { Issue.record("a later request retries"); return }
    }

    @Test func aPartitionNotGrantedIsRefusedAndServingOnesRelease() {
        var m = Machine()
        guard case .refuse = m.request(allowed: false) else { Issue.record("not granted: refuse"); return }
        _ = m.request(allowed: true)
        _ = m.acquired("o")
        guard case .release("o") = m.release() else { Issue.record("serving: release"); return }
        guard case .none = m.release() else { Issue.record("already releasing"); return }
        m.released()
        #expect(m.owner == nil)
    }
}
