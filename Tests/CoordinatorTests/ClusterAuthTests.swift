import EventLog
import Foundation
import Hummingbird
import HummingbirdTesting
import TallyTesting
import Testing

@testable import Coordinator

/// Each attack on the control plane from issue 9, through the coordinator's real router: refused,
/// and the assignment unchanged.
@Suite struct ClusterAuthTests {
    typealias Clock = CoordinatorServiceTests.Clock
    static let key = CoordinatorServiceTests.key
    static let wrongKey = try! ClusterKey(text: "not-the-cluster-key-0123456789abcdef0123456789")

    /// A coordinator with 8 partitions, all held by shard `a` (which signed its heartbeat).
    struct Fixture {
        let service: CoordinatorService
        let clock = Clock()
        let app: Application<RouterResponder<BasicRequestContext>>

        init() throws {
            service = try CoordinatorService(partitionCount: 8, store: nil, logger: testLogger)
            let clock = self.clock
            app = Application(
                router: CoordinatorAPI(
                    service: service, authenticator: ClusterAuthenticator(key: ClusterAuthTests.key, now: { clock.ms }),
                    now: { clock.ms }
                ).router())
        }

        var signer: ClusterAuthenticator {
            let clock = self.clock
            return ClusterAuthenticator(key: ClusterAuthTests.key, now: { clock.ms })
        }

        /// The headers that sign a heartbeat carrying `body`.
        func signed(_ body: [UInt8]) -> HTTPFields {
            var headers = HTTPFields()
            for (name, value) in signer.sign(method: "POST", path: "/v1/cluster/heartbeat", body: body) {
                headers[name] = value
            }
            return headers
        }

        func beat(_ client: some TestClientProtocol, _ shard: String, url: String, signer: ClusterAuthenticator?)
            async throws -> HTTPResponse.Status
        {
            try await CoordinatorServiceTests.signed(
                client, "/v1/cluster/heartbeat", ["shard": shard, "url": url], signer: signer
            ).status
        }
    }

    @Test func heartbeatsFromInventedShardsMoveNoPartition() async throws {
        let f = try Fixture()
        try await f.app.test(.router) { client async throws in
            #expect(try await f.beat(client, "a", url: "http://127.0.0.1:9001", signer: f.signer) == .ok)
            let before = await f.service.table
            for i in 0..<10 {
                #expect(
                    try await f.beat(client, "phantom-\(i)", url: "http://127.0.0.1:66", signer: nil) == .unauthorized)
                let wrong = ClusterAuthenticator(key: Self.wrongKey, now: { f.clock.ms })
                #expect(
                    try await f.beat(client, "phantom-x\(i)", url: "http://127.0.0.1:66", signer: wrong)
                        == .unauthorized)
            }
            let after = await f.service.table
            #expect(after == before, "a refused heartbeat changed the assignment")
            #expect(Array(after.leases.keys) == [ShardID("a")])
            #expect(await f.service.urls == [ShardID("a"): "http://127.0.0.1:9001"])
        }
    }

    @Test func anUnsignedHeartbeatUnderADeadShardsNameDoesNotKeepItsLease() async throws {
        let f = try Fixture()
        try await f.app.test(.router) { client async throws in
            #expect(try await f.beat(client, "a", url: "http://127.0.0.1:9001", signer: f.signer) == .ok)
            #expect(try await f.beat(client, "b", url: "http://127.0.0.1:9002", signer: f.signer) == .ok)
            // a dies; an attacker heartbeats in its name every second, without the key; b keeps beating.
            for _ in 0..<8 {
                f.clock.ms += 1_000
                #expect(try await f.beat(client, "a", url: "http://127.0.0.1:9001", signer: nil) == .unauthorized)
                #expect(try await f.beat(client, "b", url: "http://127.0.0.1:9002", signer: f.signer) == .ok)
            }
            let table = await f.service.table
            #expect(table.leases[ShardID("a")] == nil, "the dead shard's lease was kept alive")
            #expect((0..<8).allSatisfy { table.owner(of: PartitionID(UInt32($0))) == ShardID("b") })
        }
    }

    @Test func aReplayedOrAlteredSignedHeartbeatIsRefused() async throws {
        let f = try Fixture()
        try await f.app.test(.router) { client async throws in
            let path = "/v1/cluster/heartbeat"
            let body = Array(#"{"shard":"a","url":"http://127.0.0.1:9001"}"#.utf8)
            let headers = f.signed(body)
            // Altered on the way — another URL in the body, or sent to another path: refused.
            let swapped = ByteBuffer(string: #"{"shard":"a","url":"http://127.0.0.1:6666"}"#)
            #expect(
                try await client.execute(uri: path, method: .post, headers: headers, body: swapped).status
                    == .unauthorized)
            let released = try await client.execute(
                uri: "/v1/cluster/released", method: .post, headers: headers, body: ByteBuffer(bytes: body))
            #expect(released.status == .unauthorized)
            #expect(await f.service.urls.isEmpty)
            let first = try await client.execute(
                uri: path, method: .post, headers: headers, body: ByteBuffer(bytes: body))
            #expect(first.status == .ok)
            // Captured on the wire and sent again, at once and later within the window.
            let again = try await client.execute(
                uri: path, method: .post, headers: headers, body: ByteBuffer(bytes: body))
            #expect(again.status == .unauthorized)
            f.clock.ms += 20_000
            let later = try await client.execute(
                uri: path, method: .post, headers: headers, body: ByteBuffer(bytes: body))
            #expect(later.status == .unauthorized)
            // After the window the timestamp is stale: still refused, though the nonce is forgotten.
            f.clock.ms += 20_000
            let stale = try await client.execute(
                uri: path, method: .post, headers: headers, body: ByteBuffer(bytes: body))
            #expect(stale.status == .unauthorized)
            #expect(await f.service.table.leases[ShardID("a")] == 5_000, "a replay renewed the lease")
        }
    }

    @Test(arguments: [-31_000, 31_000, -3_600_000])
    func aTimestampOutsideTheWindowIsRefused(skew: Int64) async throws {
        let f = try Fixture()
        try await f.app.test(.router) { client async throws in
            f.clock.ms = 1_796_083_200_000
            let clock = f.clock
            let skewed = ClusterAuthenticator(key: Self.key, now: { clock.ms + skew })
            #expect(try await f.beat(client, "a", url: "http://127.0.0.1:9001", signer: skewed) == .unauthorized)
            #expect(await f.service.table.leases.isEmpty)
            // Within the window (clocks a little apart) it is accepted.
            let close = ClusterAuthenticator(key: Self.key, now: { clock.ms + skew.signum() * 29_000 })
            #expect(try await f.beat(client, "a", url: "http://127.0.0.1:9001", signer: close) == .ok)
        }
    }

    @Test func anUnsignedReleaseChangesNothing() async throws {
        let f = try Fixture()
        try await f.app.test(.router) { client async throws in
            #expect(try await f.beat(client, "a", url: "http://127.0.0.1:9001", signer: f.signer) == .ok)
            #expect(try await f.beat(client, "b", url: "http://127.0.0.1:9002", signer: f.signer) == .ok)
            let before = await f.service.table
            for p in 0..<8 {
                let response = try await CoordinatorServiceTests.signed(
                    client, "/v1/cluster/released", ["shard": "a", "partition": p], signer: nil)
                #expect(response.status == .unauthorized)
            }
            #expect(await f.service.table == before)
        }
    }

    @Test(arguments: [
        "ftp://127.0.0.1:9001", "http://", "http://127.0.0.1:9001/", "http://127.0.0.1:9001/x",
        "http://user:pw@127.0.0.1:9001", "http://127.0.0.1:9001?q=1", "127.0.0.1:9001", "file:///etc/passwd",
    ])
    func aShardURLMustBeAPlainHTTPBaseURL(url: String) async throws {
        #expect(!Heartbeat.isValidURL(url))
        let f = try Fixture()
        try await f.app.test(.router) { client async throws in
            #expect(try await f.beat(client, "a", url: url, signer: f.signer) == .badRequest)
            #expect(await f.service.urls.isEmpty)
        }
        #expect(Heartbeat.isValidURL("http://127.0.0.1:9001") && Heartbeat.isValidURL("https://shard-1.tally.svc"))
    }

    @Test func theKeyIsNeverPrintedAndMustBeLongEnough() throws {
        let key = try ClusterKey(text: "  a-cluster-key-of-at-least-32-bytes-long\n")
        #expect(key.text == "a-cluster-key-of-at-least-32-bytes-long")
        #expect("\(key)" == "ClusterKey(redacted)" && !String(reflecting: key).contains("at-least"))
        struct Holder { var key: ClusterKey }
        var dumped = ""
        dump(Holder(key: key), to: &dumped)
        #expect(!dumped.contains("at-least") && !"\(Holder(key: key))".contains("at-least"), "\(dumped)")
        #expect(throws: CoordinatorError.self) { try ClusterKey(text: "short") }
        #expect(throws: CoordinatorError.self) { try ClusterKey.load(file: nil, environment: [:]) }
        #expect(try ClusterKey.load(file: nil, environment: ["TALLY_CLUSTER_KEY": key.text]).text == key.text)
        #expect(ClusterKey.generate().text.count == 64 && ClusterKey.generate().text != ClusterKey.generate().text)
    }

    @Test func theNonceMemoryIsBoundedAndForgetsOnlyWhatIsStale() throws {
        var seen = SeenNonces()
        for i in 0..<3_000 { try seen.insert("n\(i)", expires: 1_000 + Int64(i), now: 0, capacity: 5_000) }
        #expect(throws: CoordinatorError.self) { try seen.insert("n42", expires: 10_000, now: 500, capacity: 5_000) }
        // At 2,500 ms every nonce that expired before is swept on the next growth; later ones stay.
        for i in 3_000..<7_000 { try seen.insert("n\(i)", expires: 10_000, now: 2_500, capacity: 100_000) }
        #expect(seen.count < 7_000)
        #expect(throws: CoordinatorError.self) {
            try seen.insert("n2999", expires: 10_000, now: 2_500, capacity: 100_000)
        }
        #expect(throws: CoordinatorError.self) {
            try seen.insert("full", expires: 10_000, now: 2_500, capacity: seen.count)
        }
    }
}
