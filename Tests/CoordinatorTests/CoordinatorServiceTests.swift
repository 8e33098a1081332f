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

    static func post(_ client: some TestClientProtocol, _ path: String, _ body: [String: Any]) async throws
        -> Orders
    {
        let response = try await client.execute(
            uri: path, method: .post, body: ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body)))
        #expect(response.status == .ok)
        return try JSONDecoder().decode(Orders.self, from: Data(buffer: response.body))
    }

    @Test func shardsLearnWhatToHoldAndReleaseAndLostShardsAreReplaced() async throws {
        let temporary = TemporaryDirectory()
        let dir = temporary.path
        let store = try AssignmentStore(path: dir + "/coordinator.sqlite")
        let service = try CoordinatorService(partitionCount: 8, store: store, logger: testLogger)
        let clock = Clock()
        let app = Application(router: CoordinatorAPI(service: service, now: { clock.ms }).router())
        try await app.test(.router) { client in
            let a1 = try await Self.post(
                client, "/v1/cluster/heartbeat", ["shard": "a", "url": "http://127.0.0.1:9001"])
            #expect(a1.hold.count == 8 && a1.hold.allSatisfy { $0.epoch == 1 })
            // b joins: a is told to release half; b holds nothing until a has.
            let b1 = try await Self.post(
                client, "/v1/cluster/heartbeat", ["shard": "b", "url": "http://127.0.0.1:9002"])
            #expect(b1.hold.isEmpty)
            let a2 = try await Self.post(
                client, "/v1/cluster/heartbeat", ["shard": "a", "url": "http://127.0.0.1:9001"])
            #expect(a2.release.count == 4 && a2.hold.count == 4)
            for p in a2.release {
                _ = try await Self.post(client, "/v1/cluster/released", ["shard": "a", "partition": p])
            }
            let b2 = try await Self.post(
                client, "/v1/cluster/heartbeat", ["shard": "b", "url": "http://127.0.0.1:9002"])
            #expect(Set(b2.hold.map(\.partition)) == Set(a2.release))
            #expect(b2.hold.allSatisfy { $0.epoch == 2 }, "a handoff raises the epoch")
            #expect(b2.routes.count == 8 && b2.routes.contains { $0.owner == "a" && $0.url == "http://127.0.0.1:9001" })
            // a goes silent: after its lease, b holds everything, every moved partition at a higher epoch.
            clock.ms += 6_000
            try await service.expireLeases(now: clock.ms)
            let b3 = try await Self.post(
                client, "/v1/cluster/heartbeat", ["shard": "b", "url": "http://127.0.0.1:9002"])
            #expect(b3.hold.count == 8)
            #expect(b3.hold.filter { a2.hold.map(\.partition).contains($0.partition) }.allSatisfy { $0.epoch == 2 })
            let bad = try await client.execute(
                uri: "/v1/cluster/heartbeat", method: .post, body: ByteBuffer(string: "{nope"))
            #expect(bad.status == .badRequest)
            let view = try await client.execute(uri: "/v1/cluster", method: .get)
            #expect(view.status == .ok && String(buffer: view.body).contains("\"owner\":\"b\""))
        }
        // A restarted coordinator reloads the table: nothing moves.
        let restarted = try CoordinatorService(partitionCount: 8, store: store, logger: testLogger)
        #expect(await restarted.table.entries == service.table.entries)
    }
}
