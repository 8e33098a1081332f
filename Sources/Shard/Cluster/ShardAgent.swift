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
///
/// Several coordinators may share one store, one of them active (the others answer 503): a call
/// goes first to the coordinator that answered last, and on any failure (no connection, a 503, a
/// timeout, an answer not signed with the cluster key) to the next one, each once per call.
public final class ShardAgent: Sendable {
    public let shard: ShardID
    /// Where this shard serves requests (what other shards forward to).
    public let url: String
    /// The coordinators' base URLs, in the order they were given.
    public let coordinators: [String]
    /// The index in ``coordinators`` of the one that answered last.
    private let preferred = Mutex(0)
    let node: ShardNode
    let client: HTTPClient
    /// Signs calls to the coordinator and to other shards, and checks calls from them.
    public let authenticator: ClusterAuthenticator
    let logger: Logger
    /// partition → (owner, url), from the latest heartbeat.
    private let routing = Mutex<[UInt32: (owner: String, url: String)]>([:])

    /// - Precondition: `coordinators` is not empty.
    public init(
        shard: ShardID, url: String, coordinators: [String], node: ShardNode, client: HTTPClient,
        authenticator: ClusterAuthenticator, logger: Logger
    ) {
        precondition(!coordinators.isEmpty, "a shard needs a coordinator")
        self.shard = shard
        self.url = url
        self.coordinators = coordinators
        self.node = node
        self.client = client
        self.authenticator = authenticator
        self.logger = logger
    }

    /// An agent with one coordinator.
    public convenience init(
        shard: ShardID, url: String, coordinator: String, node: ShardNode, client: HTTPClient,
        authenticator: ClusterAuthenticator, logger: Logger
    ) {
        self.init(
            shard: shard, url: url, coordinators: [coordinator], node: node, client: client,
            authenticator: authenticator, logger: logger)
    }

    /// The coordinator asked first: the one that answered last.
    public var coordinator: String { coordinators[preferred.withLock { $0 }] }

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

    /// Posts a signed call to the coordinator that answered last, else to each other one in turn
    /// (a standby answers 503), and returns the first orders whose signature checks out.
    ///
    /// - Throws: ``ShardError`` `unavailable` naming every coordinator's failure when none answered.
    private func post(_ path: String, _ body: some Encodable) async throws -> Orders {
        let bytes = Array(try JSONEncoder().encode(body))
        let first = preferred.withLock { $0 }
        var failures: [String] = []
        for step in 0..<coordinators.count {
            let i = (first + step) % coordinators.count
            do {
                let orders = try await post(path, bytes, to: coordinators[i])
                if i != first {
                    preferred.withLock { $0 = i }
                    logger.notice(
                        "coordinator changed",
                        metadata: [
                            "coordinator": "\(coordinators[i])", "coordinator.previous": "\(coordinators[first])",
                        ])
                }
                return orders
            } catch {
                failures.append("\(coordinators[i]): \(error)")
            }
        }
        throw ShardError(.unavailable, "no coordinator answered: " + failures.joined(separator: "; "))
    }

    /// Posts a signed call to `coordinator` and returns its orders, once their signature (bound to
    /// this call) checks out: a forged or replayed answer never changes what this shard holds or
    /// where it forwards.
    private func post(_ path: String, _ bytes: [UInt8], to coordinator: String) async throws -> Orders {
        let (request, nonce) = signedCall(path, bytes, to: coordinator)
        // With several coordinators, a silent one must leave time to ask the next within a lease.
        let response = try await client.execute(request, timeout: coordinators.count > 1 ? .seconds(2) : .seconds(5))
        let data = try await response.body.collect(upTo: 1 << 22)
        guard response.status == .ok else {
            throw ShardError(.unavailable, "coordinator answered \(response.status.code)")
        }
        var headers = HTTPFields()
        for header in response.headers {
            if let name = HTTPField.Name(header.name) { headers.append(HTTPField(name: name, value: header.value)) }
        }
        do {
            try authenticator.verifyAnswer(
                to: nonce, status: Int(response.status.code), headers: headers, body: data.readableBytesView)
        } catch {
            throw ShardError(.unavailable, "the coordinator's answer is not signed with the cluster key")
        }
        return try JSONDecoder().decode(Orders.self, from: Data(buffer: data))
    }

    /// A signed POST of `bytes` to `coordinator`'s `path`, and the nonce its answer is signed for.
    private func signedCall(_ path: String, _ bytes: [UInt8], to coordinator: String) -> (HTTPClientRequest, String) {
        var request = HTTPClientRequest(url: coordinator + path)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        let signature = authenticator.sign(method: "POST", path: path, body: bytes)
        for (name, value) in signature { request.headers.add(name: name.rawName, value: value) }
        request.body = .bytes(ByteBuffer(bytes: bytes))
        return (request, signature.first { $0.0 == ClusterAuthenticator.Header.nonce }?.1 ?? "")
    }

    /// Holds this shard's presence connection (``Coordinator/Presence``) to the coordinator that
    /// answered last, calling `heartbeatNow` each time it says the orders changed, until the
    /// connection ends (the coordinator replaced or ended it) or the task is cancelled. While it is
    /// open, the coordinator ends this shard's lease as soon as the connection breaks, so a shard
    /// that dies is replaced within a fraction of a second rather than a lease later.
    ///
    /// The stream's lines are not signed: all they can do is make this shard heartbeat sooner, and
    /// the heartbeat's answer is checked as always.
    ///
    /// - Throws: ``ShardError`` `unavailable` when the coordinator refuses (a standby answers 503),
    ///   and the client's errors.
    public func holdPresence(heartbeatNow: @Sendable () -> Void) async throws {
        let bytes = Array(try JSONEncoder().encode(Presence(shard: shard.rawValue)))
        let (request, _) = signedCall("/v1/cluster/presence", bytes, to: coordinator)
        let response = try await client.execute(request, timeout: .hours(1))
        guard response.status == .ok else {
            throw ShardError(.unavailable, "the coordinator refused the presence call: \(response.status.code)")
        }
        var line: [UInt8] = []
        for try await chunk in response.body {
            for byte in chunk.readableBytesView {
                guard byte == UInt8(ascii: "\n") else {
                    if line.count < 64 { line.append(byte) }
                    continue
                }
                if line.elementsEqual(Presence.ordersLine.utf8) { heartbeatNow() }
                line.removeAll(keepingCapacity: true)
            }
        }
    }
}
