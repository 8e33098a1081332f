public import EventLog
import Foundation
public import Hummingbird

/// The coordinator's HTTP API: `POST /v1/cluster/heartbeat`, `POST /v1/cluster/released`,
/// `GET /v1/cluster`, `GET /health`. The request and answer types are in `Protocol/`, shared with
/// the shards that call it.
public struct CoordinatorAPI: Sendable {
    public let service: CoordinatorService
    public let now: @Sendable () -> Int64
    /// Forwards a guild's request to the shard owning its partition (nil: the coordinator serves no
    /// guild requests).
    public var forward: (@Sendable (Request, GuildID) async throws -> Response)?
    /// The Prometheus text of every metric, for `GET /metrics` (nil: no such endpoint).
    public var metricsText: (@Sendable () -> String)?

    public init(service: CoordinatorService, now: @escaping @Sendable () -> Int64) {
        self.service = service
        self.now = now
    }

    /// `GET /health`: `ok`, or `degraded` with the partitions some shard quarantined (still 200:
    /// the coordinator itself is alive and serving; see decision 6).
    struct Health: ResponseEncodable {
        var status: String
        var quarantined: [PartitionDamage]?
    }

    public func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.get("/health") { _, _ in
            let damaged = await service.view.quarantined
            return Health(status: damaged.isEmpty ? "ok" : "degraded", quarantined: damaged.isEmpty ? nil : damaged)
        }
        if let metricsText {
            router.get("/metrics") { _, _ in
                Response(
                    status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                    body: .init(byteBuffer: ByteBuffer(string: metricsText())))
            }
        }
        router.post("/v1/cluster/heartbeat") { request, _ in
            let beat = try await Self.decode(Heartbeat.self, request)
            guard !beat.shard.isEmpty, beat.shard.utf8.count <= 100, beat.url.hasPrefix("http") else {
                throw Self.http(CoordinatorError(.badRequest, "a heartbeat names its shard and its http(s) URL"))
            }
            return try await Self.answer {
                try await service.heartbeat(
                    ShardID(beat.shard), url: beat.url, quarantined: beat.quarantined ?? [], now: now())
            }
        }
        router.post("/v1/cluster/released") { request, _ in
            let released = try await Self.decode(Released.self, request)
            return try await Self.answer {
                try await service.released(PartitionID(released.partition), by: ShardID(released.shard), now: now())
            }
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
        router.get("/v1/cluster") { _, _ in await service.view }
        return router
    }

    /// Runs a service call, turning its errors into HTTP answers.
    static func answer(_ body: () async throws -> Orders) async throws -> Orders {
        do { return try await body() } catch let error as CoordinatorError { throw http(error) }
    }

    /// The one place coordinator errors become statuses.
    static func http(_ error: CoordinatorError) -> HTTPError {
        switch error.code {
        case .badRequest: HTTPError(.badRequest, message: error.message)
        case .noOwner: HTTPError(.serviceUnavailable, message: error.message)
        default: HTTPError(.internalServerError, message: error.message)
        }
    }

    static func decode<T: Decodable>(_ type: T.Type, _ request: Request) async throws -> T {
        var request = request
        let body = try await request.collectBody(upTo: 16 * 1024)
        do { return try JSONDecoder().decode(T.self, from: Data(buffer: body)) } catch {
            throw http(CoordinatorError(.badRequest, "malformed body", underlying: error))
        }
    }
}
