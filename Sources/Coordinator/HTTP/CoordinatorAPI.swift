public import EventLog
import Foundation
public import Hummingbird

/// The coordinator's HTTP API: `POST /v1/cluster/heartbeat`, `POST /v1/cluster/released`,
/// `GET /v1/cluster`, `GET /health`.
public struct CoordinatorAPI: Sendable {
    public let service: CoordinatorService
    public let now: @Sendable () -> Int64
    /// Forwards a guild's request to the shard owning its partition (nil: the coordinator serves no
    /// guild requests).
    public var forward: (@Sendable (Request, GuildID) async throws -> Response)?

    public init(service: CoordinatorService, now: @escaping @Sendable () -> Int64) {
        self.service = service
        self.now = now
    }

    struct Heartbeat: Decodable { var shard: String; var url: String }
    struct Released: Decodable { var shard: String; var partition: UInt32 }

    public func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.get("/health") { _, _ in Self.json(["status": "ok"]) }
        router.post("/v1/cluster/heartbeat") { request, _ in
            let beat = try await Self.decode(Heartbeat.self, request)
            guard !beat.shard.isEmpty, beat.shard.utf8.count <= 100, beat.url.hasPrefix("http") else {
                throw HTTPError(.badRequest, message: "a heartbeat names its shard and its http(s) URL")
            }
            let orders = try await service.heartbeat(ShardID(beat.shard), url: beat.url, now: now())
            return try Self.encode(orders)
        }
        router.post("/v1/cluster/released") { request, _ in
            let released = try await Self.decode(Released.self, request)
            let orders = try await service.released(PartitionID(released.partition), by: ShardID(released.shard), now: now())
            return try Self.encode(orders)
        }
        if let forward {
            for method in [HTTPRequest.Method.get, .post, .put] {
                router.on("/v1/guilds/:guild/**", method: method) { request, context in
                    guard let raw = context.parameters.get("guild"), let id = UInt64(raw) else {
                        throw HTTPError(.badRequest, message: "the guild must be a Discord snowflake")
                    }
                    return try await forward(request, GuildID(id))
                }
            }
        }
        router.get("/v1/cluster") { _, _ in
            let table = await service.table
            let urls = await service.urls
            let shards = table.leases.keys.sorted().map {
                ["id": $0.rawValue, "url": urls[$0] ?? "", "lease_expires_ms": table.leases[$0]!] as [String: Any]
            }
            let partitions = table.entries.enumerated().map { i, e -> [String: Any] in
                var row: [String: Any] = ["partition": i, "epoch": e.epoch.rawValue]
                switch e.ownership {
                case .owned(let s): row["owner"] = s.rawValue
                case .releasing(let from, let to):
                    row["owner"] = from.rawValue
                    row["moving_to"] = to.rawValue
                case .unassigned: break
                }
                return row
            }
            return Self.json(["shards": shards, "partitions": partitions])
        }
        return router
    }

    static func decode<T: Decodable>(_ type: T.Type, _ request: Request) async throws -> T {
        var request = request
        let body = try await request.collectBody(upTo: 16 * 1024)
        do { return try JSONDecoder().decode(T.self, from: Data(buffer: body)) } catch {
            throw HTTPError(.badRequest, message: "malformed body")
        }
    }

    static func encode<T: Encodable>(_ value: T) throws -> Response {
        let data = try JSONEncoder().encode(value)
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func json(_ object: [String: Any]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
