import EventLog
import Foundation
import Hummingbird
import HummingbirdTesting
import TallyTesting
import Testing

@testable import Coordinator

/// The coordinator through its real router, with time under the test's control.
@Suite struct CoordinatorServiceTests {
    final class Clock: @unchecked Sendable { var ms: Int64 = 0 }

    static let key = try! ClusterKey(text: "coordinator-test-cluster-key-0123456789abcdef")

    /// A heartbeat or release signed with ``key`` at `clock`'s time.
    static func post(
        _ client: some TestClientProtocol, _ path: String, _ body: [String: Any], clock: Clock
    ) async throws -> Orders {
        let response = try await signed(client, path, body, signer: ClusterAuthenticator(key: key, now: { clock.ms }))
        #expect(response.status == .ok)
        return try JSONDecoder().decode(Orders.self, from: Data(buffer: response.body))
    }

    /// Posts `body` to `path` with the headers `signer` makes (none when nil).
    static func signed(
        _ client: some TestClientProtocol, _ path: String, _ body: [String: Any], signer: ClusterAuthenticator?
    ) async throws -> TestResponse {
        let bytes = try JSONSerialization.data(withJSONObject: body)
        var headers = HTTPFields()
        for (name, value) in signer?.sign(method: "POST", path: path, body: Array(bytes)) ?? [] {
            headers[name] = value
        }
        return try await client.execute(uri: path, method: .post, headers: headers, body: ByteBuffer(bytes: bytes))
    }

    /// The coordinator's real router over `service`, with `clock`'s time.
    static func application(_ service: CoordinatorService, clock: Clock) -> some ApplicationProtocol {
        Application(
            router: CoordinatorAPI(
                service: service, authenticator: ClusterAuthenticator(key: key, now: { clock.ms }), now: { clock.ms }
            ).router())
    }

    @Test func shardsLearnWhatToHoldAndReleaseAndLostShardsAreReplaced() async throws {
        let temporary = TemporaryDirectory()
        let dir = temporary.path
        let store = try AssignmentStore(path: dir + "/coordinator.sqlite")
        let service = try CoordinatorService(partitionCount: 8, store: store, logger: testLogger)
        let clock = Clock()
        let app = Self.application(service, clock: clock)
        try await app.test(.router) { client in
            let a1 = try await Self.post(
                client, "/v1/cluster/heartbeat", ["shard": "a", "url": "http://127.0.0.1:9001"], clock: clock)
            #expect(a1.hold.count == 8 && a1.hold.allSatisfy { $0.epoch == 1 })
            // b joins: a is told to release half; b holds nothing until a has.
            let b1 = try await Self.post(
                client, "/v1/cluster/heartbeat", ["shard": "b", "url": "http://127.0.0.1:9002"], clock: clock)
            #expect(b1.hold.isEmpty)
            let a2 = try await Self.post(
                client, "/v1/cluster/heartbeat", ["shard": "a", "url": "http://127.0.0.1:9001"], clock: clock)
            #expect(a2.release.count == 4 && a2.hold.count == 4)
            for p in a2.release {
                _ = try await Self.post(client, "/v1/cluster/released", ["shard": "a", "partition": p], clock: clock)
            }
            let b2 = try await Self.post(
                client, "/v1/cluster/heartbeat", ["shard": "b", "url": "http://127.0.0.1:9002"], clock: clock)
            #expect(Set(b2.hold.map(\.partition)) == Set(a2.release))
            #expect(b2.hold.allSatisfy { $0.epoch == 2 }, "a handoff raises the epoch")
            #expect(b2.routes.count == 8 && b2.routes.contains { $0.owner == "a" && $0.url == "http://127.0.0.1:9001" })
            // a goes silent: after its lease, b holds everything, every moved partition at a higher epoch.
            clock.ms += 6_000
            try await service.expireLeases(now: clock.ms)
            let b3 = try await Self.post(
                client, "/v1/cluster/heartbeat", ["shard": "b", "url": "http://127.0.0.1:9002"], clock: clock)
            #expect(b3.hold.count == 8)
            #expect(b3.hold.filter { a2.hold.map(\.partition).contains($0.partition) }.allSatisfy { $0.epoch == 2 })
            let signer = ClusterAuthenticator(key: Self.key, now: { clock.ms })
            var headers = HTTPFields()
            for (name, value) in signer.sign(method: "POST", path: "/v1/cluster/heartbeat", body: Array("{nope".utf8)) {
                headers[name] = value
            }
            let bad = try await client.execute(
                uri: "/v1/cluster/heartbeat", method: .post, headers: headers, body: ByteBuffer(string: "{nope"))
            #expect(bad.status == .badRequest)
            let view = try await client.execute(uri: "/v1/cluster", method: .get)
            #expect(view.status == .ok && String(buffer: view.body).contains("\"owner\":\"b\""))
        }
        // A restarted coordinator reloads the table: nothing moves.
        let restarted = try CoordinatorService(partitionCount: 8, store: store, logger: testLogger)
        #expect(await restarted.table.entries == service.table.entries)
    }

    /// A store in memory that fences by term as a shared store does.
    actor SharedMemoryStore: CoordinatorStateStore {
        var saved: CoordinatorState?
        var term = CoordinatorTerm(0)

        func raise() -> CoordinatorTerm {
            term = CoordinatorTerm(term.rawValue + 1)
            return term
        }

        func load(configuration: AssignmentTable.Configuration) -> CoordinatorState? { saved }

        func save(_ state: CoordinatorState, replacing previous: CoordinatorState, term: CoordinatorTerm) throws {
            guard term == self.term else { throw CoordinatorError(.deposed, "superseded") }
            saved = state
        }
    }

    @Test func aStandbyRefusesEveryCallWith503AndRetryAfterUntilItTakesOver() async throws {
        let store = SharedMemoryStore()
        let service = CoordinatorService(partitionCount: 4, sharing: store, logger: testLogger)
        let clock = Clock()
        let app = Self.application(service, clock: clock)
        try await app.test(.router) { client in
            let body: [String: Any] = ["shard": "a", "url": "http://127.0.0.1:9001"]
            let signer = ClusterAuthenticator(key: Self.key, now: { clock.ms })
            let refused = try await Self.signed(client, "/v1/cluster/heartbeat", body, signer: signer)
            #expect(refused.status == .serviceUnavailable)
            #expect(refused.headers[.retryAfter] == "1")
            #expect(try await client.execute(uri: "/v1/cluster", method: .get).status == .serviceUnavailable)
            #expect(try await client.execute(uri: "/ready", method: .get).status == .serviceUnavailable)
            let health = try await client.execute(uri: "/health", method: .get)
            #expect(health.status == .ok && String(buffer: health.body).contains("standby"))
            #expect(await store.saved == nil, "a standby wrote")

            try await service.activate(term: await store.raise(), now: clock.ms)
            let orders = try await Self.post(client, "/v1/cluster/heartbeat", body, clock: clock)
            #expect(orders.hold.count == 4)
            #expect(try await client.execute(uri: "/ready", method: .get).status == .ok)
            #expect(await store.saved?.urls[ShardID("a")] == "http://127.0.0.1:9001")
        }
    }

    @Test func aDeposedCoordinatorsChangeIsRefusedAndItStandsBy() async throws {
        let store = SharedMemoryStore()
        let old = CoordinatorService(partitionCount: 4, sharing: store, logger: testLogger)
        try await old.activate(term: await store.raise(), now: 0)
        _ = try await old.heartbeat(ShardID("a"), url: "http://127.0.0.1:9001", now: 0)
        // Another coordinator takes over (the old one is paused and does not know yet).
        let new = CoordinatorService(partitionCount: 4, sharing: store, logger: testLogger)
        try await new.activate(term: await store.raise(), now: 1_000)
        let saved = await store.saved
        await #expect {
            _ = try await old.heartbeat(ShardID("b"), url: "http://127.0.0.1:9002", now: 1_500)
        } throws: { ($0 as? CoordinatorError)?.code == .deposed }
        #expect(await store.saved == saved, "the deposed coordinator's change was written")
        #expect(await !old.isActive)
        #expect(await old.table.leases[ShardID("b")] == nil, "the refused change reached memory")
        // The new one kept the owners and epochs, and gave a a lease from the takeover.
        #expect(await new.table.entries == old.table.entries)
        #expect(await new.table.leases[ShardID("a")] == 1_000 + 5_000)
    }
}
