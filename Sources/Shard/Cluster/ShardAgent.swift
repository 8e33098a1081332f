public import AsyncHTTPClient
public import Coordinator
import EventLog
import Foundation
import HTTPTypes
public import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// A shard process's link to the coordinator: heartbeats, carries out the orders each answer holds
/// (acquire granted partitions, release the others and report them), and keeps the routing table
/// the HTTP layer forwards requests with.
///
/// Every call to the coordinator is signed with the cluster key (``Coordinator/ClusterAuthenticator``).
public final class ShardAgent: Sendable {
    public let shard: ShardID
    /// Where this shard serves requests (what other shards forward to).
    public let url: String
    public let coordinator: String
    let node: ShardNode
    let client: HTTPClient
    /// Signs calls to the coordinator and to other shards, and checks calls from them.
    public let authenticator: ClusterAuthenticator
    let logger: Logger
    /// partition → (owner, url), from the latest heartbeat.
    private let routing = Mutex<[UInt32: (owner: String, url: String)]>([:])

    public init(
        shard: ShardID, url: String, coordinator: String, node: ShardNode, client: HTTPClient,
        authenticator: ClusterAuthenticator, logger: Logger
    ) {
        self.shard = shard
        self.url = url
        self.coordinator = coordinator
        self.node = node
        self.client = client
        self.authenticator = authenticator
        self.logger = logger
    }

    /// The URL of the shard that owns `partition`, if known and not this one. Routes come only from
    /// the coordinator, which takes URLs only from signed heartbeats; one that is not a plain
    /// `http(s)://host[:port]` is never used.
    public func ownerURL(of partition: UInt32) -> String? {
        routing.withLock { table in
            guard let route = table[partition], route.owner != shard.rawValue, Heartbeat.isValidURL(route.url) else {
                return nil
            }
            return route.url
        }
    }

    /// The URLs of the other shards that own partitions, once every one of the `count` partitions
    /// has an owner (nil while one has none: a message for every guild, a Kick webhook, must wait,
    /// or be retried, until each partition is served somewhere).
    public func otherOwnerURLs(partitions count: Int) -> [String]? {
        routing.withLock { table in
            guard (0..<UInt32(count)).allSatisfy({ table[$0] != nil }) else { return nil }
            let others = table.values.filter { $0.owner != shard.rawValue }
            guard others.allSatisfy({ Heartbeat.isValidURL($0.url) }) else { return nil }
            return Set(others.map(\.url)).sorted()
        }
    }

    /// One heartbeat and its orders.
    public func beat() async throws {
        let quarantined = await node.quarantined()
        var orders = try await post(
            "/v1/cluster/heartbeat",
            Heartbeat(shard: shard.rawValue, url: url, quarantined: quarantined.isEmpty ? nil : quarantined))
        while true {
            routing.withLock { table in
                table = Dictionary(uniqueKeysWithValues: orders.routes.map { ($0.partition, ($0.owner, $0.url)) })
            }
            var hold: [PartitionID: Epoch] = [:]
            for h in orders.hold { hold[PartitionID(h.partition)] = Epoch(h.epoch) }
            await node.apply(hold: hold)
            guard !orders.release.isEmpty else { return }
            // Released partitions are no longer held (apply dropped them); report each.
            for p in orders.release {
                orders = try await post("/v1/cluster/released", Released(shard: shard.rawValue, partition: p))
            }
        }
    }

    /// Posts a signed call to the coordinator and returns its orders, once their signature (bound to
    /// this call) checks out: a forged or replayed answer never changes what this shard holds or
    /// where it forwards.
    private func post(_ path: String, _ body: some Encodable) async throws -> Orders {
        let bytes = Array(try JSONEncoder().encode(body))
        var request = HTTPClientRequest(url: coordinator + path)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        let signature = authenticator.sign(method: "POST", path: path, body: bytes)
        for (name, value) in signature { request.headers.add(name: name.rawName, value: value) }
        request.body = .bytes(ByteBuffer(bytes: bytes))
        let response = try await client.execute(request, timeout: .seconds(5))
        let data = try await response.body.collect(upTo: 1 << 22)
        guard response.status == .ok else {
            throw ShardError(.unavailable, "coordinator answered \(response.status.code)")
        }
        var headers = HTTPFields()
        for header in response.headers {
            if let name = HTTPField.Name(header.name) { headers.append(HTTPField(name: name, value: header.value)) }
        }
        let nonce = signature.first { $0.0 == ClusterAuthenticator.Header.nonce }?.1 ?? ""
        do {
            try authenticator.verifyAnswer(
                to: nonce, status: Int(response.status.code), headers: headers, body: data.readableBytesView)
        } catch {
            throw ShardError(.unavailable, "the coordinator's answer is not signed with the cluster key")
        }
        return try JSONDecoder().decode(Orders.self, from: Data(buffer: data))
    }
}
