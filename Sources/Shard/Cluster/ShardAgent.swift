public import AsyncHTTPClient
public import Coordinator
import EventLog
import Foundation
public import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// A shard process's link to the coordinator: heartbeats, carries out the orders each answer holds
/// (acquire granted partitions, release the others and report them), and keeps the routing table
/// the HTTP layer forwards requests with.
public final class ShardAgent: Sendable {
    public let shard: ShardID
    /// Where this shard serves requests (what other shards forward to).
    public let url: String
    public let coordinator: String
    let node: ShardNode
    let client: HTTPClient
    let logger: Logger
    /// partition → (owner, url), from the latest heartbeat.
    private let routing = Mutex<[UInt32: (owner: String, url: String)]>([:])

    public init(shard: ShardID, url: String, coordinator: String, node: ShardNode, client: HTTPClient, logger: Logger) {
        self.shard = shard
        self.url = url
        self.coordinator = coordinator
        self.node = node
        self.client = client
        self.logger = logger
    }

    /// The URL of the shard that owns `partition`, if known and not this one.
    public func ownerURL(of partition: UInt32) -> String? {
        routing.withLock { table in
            guard let route = table[partition], route.owner != shard.rawValue, !route.url.isEmpty else { return nil }
            return route.url
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

    private func post(_ path: String, _ body: some Encodable) async throws -> Orders {
        var request = HTTPClientRequest(url: coordinator + path)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(body)))
        let response = try await client.execute(request, timeout: .seconds(5))
        let data = try await response.body.collect(upTo: 1 << 22)
        guard response.status == .ok else {
            throw ShardError(.unavailable, "coordinator answered \(response.status.code)")
        }
        return try JSONDecoder().decode(Orders.self, from: Data(buffer: data))
    }
}
