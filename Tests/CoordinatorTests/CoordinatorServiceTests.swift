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

    @Test func shardsLearnWhatToHoldAndReleaseAndLostShardsAreReplaced() async throws {
        let temporary = TemporaryDirectory()
        let dir = temporary.path
        let store = try AssignmentStore(path: dir + "/coordinator.sqlite")
        let service = try CoordinatorService(partitionCount: 8, store: store, logger: testLogger)
        let clock = Clock()
        let app = Application(
            router: CoordinatorAPI(
                service: service, authenticator: ClusterAuthenticator(key: Self.key, now: { clock.ms }),
                now: { clock.ms }
            ).router())
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
}
