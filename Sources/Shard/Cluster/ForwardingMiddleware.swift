public import AsyncHTTPClient
public import EventLog
import Foundation
import HTTPTypes
public import Hummingbird
import NIOCore
import NIOHTTP1

/// Sends a request for a guild whose partition another shard owns to that shard, so a client can
/// talk to any node. A partition that is moving is waited for (bounded), then served by its new owner.
public struct ForwardingMiddleware<Context: RequestContext>: RouterMiddleware {
    let agent: ShardAgent
    let data: DataDirectory
    let client: HTTPClient
    /// How long a request for a moving partition waits for an owner. Default 5 s.
    var patience: Duration = .seconds(5)

    public init(agent: ShardAgent, data: DataDirectory, client: HTTPClient) {
        self.agent = agent
        self.data = data
        self.client = client
    }

    static var forwardedHeader: HTTPField.Name { HTTPField.Name("X-Tally-Forwarded")! }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        let parts = request.uri.path.split(separator: "/")
        guard parts.count >= 3, parts[0] == "v1", parts[1] == "guilds", let raw = UInt64(parts[2]) else {
            return try await next(request, context)
        }
        let partition = data.partition(for: GuildID(raw))
        let deadline = ContinuousClock.now + patience
        // Buffer the body once, so it can be sent again (to a new owner) or read here.
        var request = request
        _ = try await request.collectBody(upTo: ShardAPI.maxBatchBody + 1)
        while true {
            if await agent.node.serves(partition) { return try await next(request, context) }
            if let target = agent.ownerURL(of: partition.rawValue), request.headers[Self.forwardedHeader] == nil {
                do { return try await forward(request, to: target) } catch let error as APIError
                    where error.code == .ownerUnreachable
                {
                    // The owner died: its partitions move once its lease expires. Wait for that.
                    if ContinuousClock.now >= deadline { throw error }
                }
            }
            guard ContinuousClock.now < deadline else {
                throw APIError(
                    .partitionMoving, "partition \(partition) has no owner yet; retry")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    private func forward(_ request: Request, to target: String) async throws -> Response {
        do { return try await Self.send(request, to: target, client: client) } catch let error as APIError {
            throw error
        } catch {
            throw APIError(
                .ownerUnreachable, "the shard owning this guild did not answer; retry")
        }
    }

    /// Sends `request` (its method, path, query, body, `Authorization`, `Content-Type` and
    /// `X-Request-Id`) to
    /// `target` and returns the answer as a response; marks it forwarded so it is not sent on again.
    public static func send(_ request: Request, to target: String, client: HTTPClient) async throws -> Response {
        var out = HTTPClientRequest(url: target + request.uri.description)
        out.method = HTTPMethod(rawValue: request.method.rawValue)
        for field in request.headers
        where field.name == .authorization || field.name == .contentType || field.name == .requestID {
            out.headers.add(name: field.name.rawName, value: field.value)
        }
        out.headers.add(name: Self.forwardedHeader.rawName, value: "1")
        var request = request
        let body = try await request.collectBody(upTo: ShardAPI.maxBatchBody + 1)
        if body.readableBytes > 0 { out.body = .bytes(body) }
        let response = try await client.execute(out, timeout: .seconds(10))
        let data = try await response.body.collect(upTo: 64 << 20)
        var headers = HTTPFields()
        if let type = response.headers.first(name: "Content-Type") { headers[.contentType] = type }
        return Response(status: .init(code: Int(response.status.code)), headers: headers, body: .init(byteBuffer: data))
    }
}
