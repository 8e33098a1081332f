import AsyncHTTPClient
import Coordinator
import Crypto
import Domain
import EventLog
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import Roles
import ServiceLifecycle
import Synchronization
import TallyTesting
import Testing

@testable import Shard

/// The authenticated control plane with the real roles: forwards go only to URLs a signed heartbeat
/// announced, carry the cluster's signature and never the client's token, and a client cannot pose
/// as a forwarding node.
@Suite(.serialized, .timeLimit(.minutes(2))) struct ClusterAuthTests {
    static let key = try! ClusterKey(text: testClusterKey)
    static let token = "cluster-auth-operator-token"
    static let guild = "5033164800000000000"

    /// A server that records the requests it gets and answers each with an empty command outcome.
    final class Listener: Sendable {
        let requests = Mutex<[(HTTPFields, [UInt8], String)]>([])
        let bound = RolesTests.BoundPort()
        var url: String { get async throws { "http://127.0.0.1:\(try await bound.wait())" } }

        func application() -> some ApplicationProtocol {
            let router = Router()
            router.on("/**", method: .post) { [self] request, _ -> Response in
                var request = request
                let body = try await request.collectBody(upTo: 1 << 20)
                requests.withLock {
                    $0.append((request.headers, Array(body.readableBytesView), request.uri.description))
                }
                return Response(
                    status: .ok, headers: [.contentType: "application/json"],
                    body: .init(byteBuffer: ByteBuffer(string: #"{"duplicate":false,"events":[]}"#)))
            }
            return Application(
                router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                onServerRunning: { [bound] in bound.set($0) }, logger: testLogger)
        }
    }

    static func heartbeat(_ coordinator: String, shard: String, url: String, key: ClusterKey?) async throws
        -> HTTPResponseStatus
    {
        let body = Array(try JSONEncoder().encode(Heartbeat(shard: shard, url: url)))
        var request = HTTPClientRequest(url: coordinator + "/v1/cluster/heartbeat")
        request.method = .POST
        for (name, value) in key.map({ ClusterAuthenticator(key: $0) })?.sign(
            method: "POST", path: "/v1/cluster/heartbeat", body: body) ?? []
        {
            request.headers.add(name: name.rawName, value: value)
        }
        request.body = .bytes(ByteBuffer(bytes: body))
        return try await HTTPClient.shared.execute(request, timeout: .seconds(5)).status
    }

    static func command(_ base: String, guild: String = guild, headers: [(String, String)]) async throws
        -> (HTTPResponseStatus, String)
    {
        var request = HTTPClientRequest(url: base + "/v1/guilds/\(guild)/commands")
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(
            ByteBuffer(
                string:
                    #"{"type":"adjust_points","key":"k-\#(UUID())","person":"1100000000000000001","delta":5,"reason":"r"}"#
            ))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(20))
        return (response.status, String(buffer: try await response.body.collect(upTo: 1 << 20)))
    }

    /// A coordinator on `data`, listening on a free port (`bound` says which once it listens).
    static func coordinator(_ data: DataDirectory) throws -> (CoordinatorRole, RolesTests.BoundPort) {
        let bound = RolesTests.BoundPort()
        var configuration = CoordinatorRole.Configuration(data: data, clusterKey: key)
        configuration.address = .hostname("127.0.0.1", port: 0)
        configuration.onServerRunning = { bound.set($0) }
        return (try CoordinatorRole(configuration: configuration, logger: testLogger), bound)
    }

    @Test func forwardsGoOnlyToAnnouncedURLsAndNeverCarryTheClientsToken() async throws {
        let dir = TemporaryDirectory()
        let (role, bound) = try Self.coordinator(try DataDirectory.open(path: dir.path, creatingWith: 4))
        let good = Listener()
        let evil = Listener()
        let group = ServiceGroup(
            services: role.services + [good.application(), evil.application()], gracefulShutdownSignals: [],
            logger: testLogger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            defer { Task { await group.triggerGracefulShutdown() } }
            let coordinator = "http://127.0.0.1:\(try await bound.wait())"
            let (goodURL, evilURL) = (try await good.url, try await evil.url)
            #expect(try await Self.heartbeat(coordinator, shard: "good", url: goodURL, key: Self.key) == .ok)
            // Re-registering the good shard's name, or a new name, at the attacker's URL: refused.
            let wrongKey = try ClusterKey(text: "an-attackers-guess-at-the-key-0123456789abcdef")
            #expect(try await Self.heartbeat(coordinator, shard: "good", url: evilURL, key: nil) == .unauthorized)
            #expect(try await Self.heartbeat(coordinator, shard: "good", url: evilURL, key: wrongKey) == .unauthorized)
            #expect(try await Self.heartbeat(coordinator, shard: "evil", url: evilURL, key: nil) == .unauthorized)
            #expect(await role.service.urls == [ShardID("good"): goodURL])

            // A client's command through the coordinator reaches the announced shard only, signed,
            // with the digest of the client's token and without the token.
            let (status, _) = try await Self.command(
                coordinator, headers: [("Authorization", "Bearer \(Self.token)"), ("X-Tally-Forwarded", "1")])
            #expect(status == .ok)
            #expect(evil.requests.withLock { $0.isEmpty }, "the attacker's URL received a request")
            let received = good.requests.withLock { $0 }
            try #require(received.count == 1)
            let (headers, body, path) = received[0]
            #expect(headers[.authorization] == nil, "the client's token was forwarded")
            #expect(!headers.contains { $0.value.contains(Self.token) })
            let digest = SHA256.hash(data: Array(Self.token.utf8)).map { String(format: "%02x", $0) }.joined()
            #expect(headers[ClusterAuthenticator.Header.credential] == "sha256=" + digest)
            // The forward verifies with the cluster key, once.
            let verifier = ClusterAuthenticator(key: Self.key)
            let verified = try verifier.verify(method: "POST", path: path, headers: headers, body: body)
            #expect(verified.credential.map { Array($0) } == Array(SHA256.hash(data: Array(Self.token.utf8))))
            #expect(throws: CoordinatorError.self) {
                try verifier.verify(method: "POST", path: path, headers: headers, body: body)
            }
            #expect(throws: CoordinatorError.self) {
                try ClusterAuthenticator(key: wrongKey).verify(method: "POST", path: path, headers: headers, body: body)
            }
        }
    }

    @Test func aClientsForwardedHeaderNeitherDelaysNorForgesAForward() async throws {
        let dir = TemporaryDirectory()
        let data = try DataDirectory.open(path: dir.path, creatingWith: 4)
        let (coordinatorRole, bound) = try Self.coordinator(data)
        let coordinatorGroup = ServiceGroup(
            services: coordinatorRole.services, gracefulShutdownSignals: [], logger: testLogger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await coordinatorGroup.run() }
            let coordinator = "http://127.0.0.1:\(try await bound.wait())"
            var shards: [(url: String, group: ServiceGroup)] = []
            for i in 1...2 {
                let port = try freeLoopbackPort()
                var configuration = ShardRole.Configuration(
                    data: data, shard: ShardID("shard-\(i)"), coordinator: coordinator, url: "http://127.0.0.1:\(port)",
                    operatorToken: Self.token, raffleSecret: Array(repeating: 1, count: 32), clusterKey: Self.key)
                configuration.address = .hostname("127.0.0.1", port: port)
                let role = try await ShardRole(configuration: configuration, logger: testLogger)
                let group = role.serviceGroup(gracefulShutdownSignals: [])
                tasks.addTask { try await group.run() }
                shards.append((configuration.url, group))
            }
            let running = shards.map(\.group)
            defer {
                Task {
                    for group in running { await group.triggerGracefulShutdown() }
                    await coordinatorGroup.triggerGracefulShutdown()
                }
            }
            // Until every partition is owned and both shards hold some.
            let partition = data.partition(for: GuildID(UInt64(Self.guild)!))
            var owner: ShardID?
            for _ in 0..<150 {
                let table = await coordinatorRole.service.table
                let owners = (0..<4).map { table.owner(of: PartitionID(UInt32($0))) }
                if owners.allSatisfy({ $0 != nil }), Set(owners).count == 2 {
                    owner = table.owner(of: partition)
                    break
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            let holder = try #require(owner, "the partitions were not spread over both shards")
            // Give the non-owner a heartbeat to learn the routes.
            try await Task.sleep(for: .milliseconds(1_500))
            let other = shards[holder == ShardID("shard-1") ? 1 : 0].url

            // A client's X-Tally-Forwarded is dropped: the request is forwarded at once, not held
            // for the 5 s a real forward to a non-owner waits.
            let started = ContinuousClock.now
            let (forwarded, body) = try await Self.command(
                other, headers: [("Authorization", "Bearer \(Self.token)"), ("X-Tally-Forwarded", "1")])
            #expect(forwarded == .ok, "\(body)")
            #expect(started.duration(to: .now) < .seconds(3), "the node waited on a client's X-Tally-Forwarded")

            // Posing as a forward without the key: a client's credential digest is dropped, so no token.
            let digest = SHA256.hash(data: Array(Self.token.utf8)).map { String(format: "%02x", $0) }.joined()
            let (forged, _) = try await Self.command(
                other, headers: [("X-Tally-Forwarded", "1"), ("X-Tally-Credential", "sha256=" + digest)])
            #expect(forged == .unauthorized)
            // A signature made with another key: refused as a cluster call.
            let wrong = ClusterAuthenticator(
                key: try ClusterKey(text: "an-attackers-guess-at-the-key-0123456789abcdef"))
            let signed = wrong.sign(method: "POST", path: "/v1/guilds/\(Self.guild)/commands", body: [UInt8]())
            let (badSignature, answer) = try await Self.command(
                other, headers: signed.map { ($0.0.rawName, $0.1) } + [("Authorization", "Bearer \(Self.token)")])
            #expect(badSignature == .unauthorized && answer.contains("cluster_unauthenticated"), "\(answer)")
        }
    }
}

/// A shard obeys only orders signed for the heartbeat that asked for them.
@Suite(.timeLimit(.minutes(1))) struct SignedOrdersTests {
    /// A stand-in coordinator that grants every partition, signing its answer with `key` (or not).
    static func fakeCoordinator(signingWith key: ClusterKey?) -> Router<BasicRequestContext> {
        let router = Router()
        router.post("/v1/cluster/heartbeat") { request, _ -> Response in
            let orders = Orders(
                hold: (0..<4).map { Orders.Hold(partition: UInt32($0), epoch: 1) }, release: [],
                routes: [Orders.Route(partition: 0, owner: "other", url: "http://127.0.0.1:1", epoch: 1)])
            let body = try JSONEncoder().encode(orders)
            var headers: HTTPFields = [.contentType: "application/json"]
            if let key, let nonce = request.headers[ClusterAuthenticator.Header.nonce] {
                headers[ClusterAuthenticator.Header.signature] = ClusterAuthenticator(key: key).signAnswer(
                    to: nonce, status: 200, body: body)
            }
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }
        return router
    }

    /// Orders unsigned, signed with another key, or signed with the cluster's key.
    @Test(arguments: [(nil, false), ("an-attackers-guess-at-the-key-0123456789abcdef", false), (testClusterKey, true)])
    func onlyOrdersSignedWithTheClusterKeyAreObeyed(signingKey: String?, obeyed: Bool) async throws {
        let dir = TemporaryDirectory()
        let data = try DataDirectory.open(path: dir.path, creatingWith: 4)
        let app = Application(
            router: Self.fakeCoordinator(signingWith: try signingKey.map { try ClusterKey(text: $0) }))
        try await app.test(.live) { client in
            let node = ShardNode(configuration: .init(data: data), logger: testLogger)
            await node.apply(hold: [:])
            let agent = ShardAgent(
                shard: ShardID("s"), url: "http://127.0.0.1:2", coordinator: "http://127.0.0.1:\(client.port!)",
                node: node, client: .shared, authenticator: ClusterAuthenticator(key: ClusterAuthTests.key),
                logger: testLogger)
            if obeyed {
                try await agent.beat()
                #expect(await node.serves(PartitionID(0)))
                #expect(agent.ownerURL(of: 0) == "http://127.0.0.1:1")
            } else {
                await #expect(throws: ShardError.self) { try await agent.beat() }
                #expect(await !node.serves(PartitionID(0)), "forged orders were obeyed")
                #expect(agent.ownerURL(of: 0) == nil, "a forged route was learned")
            }
            await node.shutdown()
        }
    }

    /// Coordinators sharing a store: one gone, one standing by (503), one active. A heartbeat asks
    /// them in turn and obeys the active one; the next heartbeat asks it first.
    @Test func aShardAsksTheNextCoordinatorWhenOneIsGoneOrStandsBy() async throws {
        let dir = TemporaryDirectory()
        let data = try DataDirectory.open(path: dir.path, creatingWith: 4)
        let standbyService = CoordinatorService(
            partitionCount: 4, sharing: try AssignmentStore(path: dir.path + "/standby.sqlite"), logger: testLogger)
        let standby = Application(
            router: CoordinatorAPI(
                service: standbyService, authenticator: ClusterAuthenticator(key: ClusterAuthTests.key),
                now: { Timestamp.now.rawValue }
            ).router())
        let active = Application(router: Self.fakeCoordinator(signingWith: ClusterAuthTests.key))
        try await standby.test(.live) { standbyClient in
            try await active.test(.live) { activeClient in
                let activeURL = "http://127.0.0.1:\(activeClient.port!)"
                let node = ShardNode(configuration: .init(data: data), logger: testLogger)
                await node.apply(hold: [:])
                let agent = ShardAgent(
                    shard: ShardID("s"), url: "http://127.0.0.1:2",
                    coordinators: ["http://127.0.0.1:1", "http://127.0.0.1:\(standbyClient.port!)", activeURL],
                    node: node, client: .shared, authenticator: ClusterAuthenticator(key: ClusterAuthTests.key),
                    logger: testLogger)
                #expect(agent.coordinator == "http://127.0.0.1:1")
                try await agent.beat()
                #expect(await node.serves(PartitionID(0)))
                #expect(agent.coordinator == activeURL)
                try await agent.beat()
                #expect(agent.coordinator == activeURL)
                #expect(await standbyService.table.leases.isEmpty, "the standby took a heartbeat")
                await node.shutdown()
            }
        }
    }
}
