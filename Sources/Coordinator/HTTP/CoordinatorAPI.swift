public import EventLog
import Foundation
public import Hummingbird
import ServiceLifecycle

/// The coordinator's HTTP API: `POST /v1/cluster/heartbeat`, `POST /v1/cluster/released`,
/// `POST /v1/cluster/presence` (held open by each shard, see ``Presence``), `GET /v1/cluster`,
/// `GET /health`. The request and answer types are in `Protocol/`, shared with
/// the shards that call it.
///
/// Heartbeats and releases must be signed with the cluster key (``ClusterAuthenticator``): an
/// unsigned, wrongly signed, stale or replayed one is a 401 and changes nothing, so only a node
/// holding the key can take partitions, keep a lease alive or announce the URL requests are
/// forwarded to.
///
/// A coordinator standing by (another one is active on the shared store) answers every cluster
/// call, `GET /v1/cluster`, `GET /ready` and every guild request with 503 and `Retry-After`: a
/// shard then asks the next coordinator it knows. `GET /health` stays 200 and says which it is.
public struct CoordinatorAPI: Sendable {
    public let service: CoordinatorService
    public let now: @Sendable () -> Int64
    /// Checks the signatures of heartbeats and releases.
    public let authenticator: ClusterAuthenticator
    /// Forwards a guild's request to the shard owning its partition (nil: the coordinator serves no
    /// guild requests).
    public var forward: (@Sendable (Request, GuildID) async throws -> Response)?
    /// The Prometheus text of every metric, for `GET /metrics` (nil: no such endpoint).
    public var metricsText: (@Sendable () -> String)?

    public init(service: CoordinatorService, authenticator: ClusterAuthenticator, now: @escaping @Sendable () -> Int64)
    {
        self.service = service
        self.authenticator = authenticator
        self.now = now
    }

    /// `GET /health`: `ok`, or `degraded` with the partitions some shard quarantined (still 200:
    /// the coordinator itself is alive and serving; see decision 6), and whether this coordinator is
    /// the `active` one or stands by (`standby`).
    struct Health: ResponseEncodable {
        var status: String
        var role: String
        var quarantined: [PartitionDamage]?
    }

    public func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.get("/health") { _, _ in
            guard await service.isActive else { return Health(status: "ok", role: "standby") }
            let damaged = await service.view.quarantined
            return Health(
                status: damaged.isEmpty ? "ok" : "degraded", role: "active",
                quarantined: damaged.isEmpty ? nil : damaged)
        }
        // Readiness: only the active coordinator takes traffic (a Kubernetes Service in front of
        // several coordinators routes to it alone).
        router.get("/ready") { _, _ in
            try await requireActive()
            return Health(status: "ok", role: "active")
        }
        if let metricsText {
            router.get("/metrics") { _, _ in
                Response(
                    status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                    body: .init(byteBuffer: ByteBuffer(string: metricsText())))
            }
        }
        // Checks signed calls; drops a client's own cluster headers before anything sees them.
        router.middlewares.add(
            ClusterAuthMiddleware(authenticator: authenticator, maxBody: Self.maxBody, refuse: { Self.http($0) }))
        router.post("/v1/cluster/heartbeat") { request, _ in
            try Self.requireSigned(request)
            let beat = try await Self.decode(Heartbeat.self, request)
            guard !beat.shard.isEmpty, beat.shard.utf8.count <= 100, Heartbeat.isValidURL(beat.url) else {
                throw Self.http(
                    CoordinatorError(
                        .badRequest, "a heartbeat names its shard and its URL: http(s)://host[:port], nothing more"))
            }
            return try await signedAnswer(to: request) {
                try await service.heartbeat(
                    ShardID(beat.shard), url: beat.url, quarantined: beat.quarantined ?? [], now: now())
            }
        }
        router.post("/v1/cluster/released") { request, _ in
            try Self.requireSigned(request)
            let released = try await Self.decode(Released.self, request)
            return try await signedAnswer(to: request) {
                try await service.released(PartitionID(released.partition), by: ShardID(released.shard), now: now())
            }
        }
        router.post("/v1/cluster/presence") { request, _ in
            try Self.requireSigned(request)
            let presence = try await Self.decode(Presence.self, request)
            guard !presence.shard.isEmpty, presence.shard.utf8.count <= 100 else {
                throw Self.http(CoordinatorError(.badRequest, "a presence call names its shard"))
            }
            let shard = ShardID(presence.shard)
            let connection: CoordinatorService.PresenceConnection
            do { connection = try await service.openPresence(of: shard) } catch let error as CoordinatorError {
                throw Self.http(error)
            }
            return Response(
                status: .ok, headers: [.contentType: "text/plain; charset=utf-8", .cacheControl: "no-store"],
                body: ResponseBody { writer in
                    let lost = await Self.stream(connection, to: &writer)
                    do { try await service.closePresence(of: shard, number: connection.number, lost: lost) } catch {
                        // Not saved: the lease expires in its time instead.
                    }
                    if !lost { try await writer.finish(nil) }
                })
        }
        if let forward {
            for method in [HTTPRequest.Method.get, .post, .put] {
                router.on("/v1/guilds/:guild/**", method: method) { request, context in
                    guard let raw = context.parameters.get("guild"), let id = UInt64(raw) else {
                        throw Self.http(CoordinatorError(.badRequest, "the guild must be a Discord snowflake"))
                    }
                    do { return try await forward(request, GuildID(id)) } catch let error as CoordinatorError {
                        throw Self.http(error)
                    }
                }
            }
        }
        router.get("/v1/cluster") { _, _ in
            try await requireActive()
            return await service.view
        }
        return router
    }

    /// How often a presence stream writes a line when there is nothing to say: a dead shard's
    /// connection is noticed (a write fails) within about two of these.
    public static let presenceTick: Duration = .milliseconds(250)
    /// How long one presence connection lasts before the coordinator ends it (the shard opens
    /// another): bounds what one connection holds.
    public static let presenceLifetime: Duration = .seconds(600)

    /// Writes `connection`'s signals, and a tick every ``presenceTick``, until it is replaced, its
    /// lifetime is over, the coordinator shuts down, or a write fails.
    ///
    /// - Returns: whether it broke (a write failed: the shard is gone).
    static func stream(_ connection: CoordinatorService.PresenceConnection, to writer: inout any ResponseBodyWriter)
        async -> Bool
    {
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self, returning: Bool.self) { group in
                group.addTask {
                    let opened = ContinuousClock.now
                    while !Task.isCancelled {
                        try? await Task.sleep(for: presenceTick)
                        guard opened.duration(to: .now) < presenceLifetime else { break }
                        connection.continuation.yield(.tick)
                    }
                    connection.continuation.finish()
                }
                defer { group.cancelAll() }
                for await signal in connection.signals {
                    let line = signal == .orders ? Presence.ordersLine + "\n" : "\n"
                    do { try await writer.write(ByteBuffer(string: line)) } catch { return true }
                }
                return false
            }
        } onGracefulShutdown: {
            connection.continuation.finish()
        }
    }

    /// Refuses with 503 while this coordinator stands by.
    func requireActive() async throws {
        guard await service.isActive else {
            throw Self.http(
                CoordinatorError(.standby, "this coordinator is standing by; another one is active or taking over"))
        }
    }

    /// Runs a service call, turning its errors into HTTP answers, and signs the orders it returns
    /// for the call that asked (the shard checks the signature before it obeys them).
    func signedAnswer(to request: Request, _ body: () async throws -> Orders) async throws -> Response {
        let orders: Orders
        do { orders = try await body() } catch let error as CoordinatorError { throw Self.http(error) }
        let bytes = try JSONEncoder().encode(orders)
        var headers: HTTPFields = [.contentType: "application/json"]
        if let nonce = request.headers[ClusterAuthenticator.Header.verifiedNonce] {
            headers[ClusterAuthenticator.Header.signature] = authenticator.signAnswer(
                to: nonce, status: 200, body: bytes)
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// The one place coordinator errors become statuses. Every 503 says when to retry: a store
    /// outage or a takeover lasts about a lease at most.
    static func http(_ error: CoordinatorError) -> HTTPError {
        switch error.code {
        case .badRequest: HTTPError(.badRequest, message: error.message)
        case .noOwner, .unavailable, .standby, .deposed, .storage:
            HTTPError(.serviceUnavailable, headers: [.retryAfter: "1"], message: error.message)
        case .unauthenticated: HTTPError(.unauthorized, message: error.message)
        default: HTTPError(.internalServerError, message: error.message)
        }
    }

    /// The largest heartbeat or release body.
    static let maxBody = 16 * 1024

    /// Refuses a heartbeat or release whose cluster signature was not checked.
    static func requireSigned(_ request: Request) throws {
        guard ClusterAuthMiddleware<BasicRequestContext>.isVerified(request) else {
            throw http(CoordinatorError(.unauthenticated, "this call needs the cluster's signature"))
        }
    }

    static func decode<T: Decodable>(_ type: T.Type, _ request: Request) async throws -> T {
        var request = request
        let body = try await request.collectBody(upTo: maxBody)
        do { return try JSONDecoder().decode(T.self, from: Data(buffer: body)) } catch {
            throw http(CoordinatorError(.badRequest, "malformed body", underlying: error))
        }
    }
}
