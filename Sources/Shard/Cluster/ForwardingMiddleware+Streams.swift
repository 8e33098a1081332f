public import AsyncHTTPClient
import Coordinator
public import EventLog
import Foundation
import HTTPTypes
public import Hummingbird
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Synchronization

extension ForwardingMiddleware {
    /// Relays an event stream (an overlay's server-sent events) for a guild whose partition another
    /// shard owns from that shard, as it comes: nil when this node serves the guild, or when the
    /// request was forwarded to it already (never relayed twice).
    ///
    /// The call to the owner is signed with the cluster key like every forward, carries the page's
    /// `Last-Event-ID` (so the owner resumes it without gap or repeat) and holds no client
    /// credential. Each chunk is written to the page before the next is read, so a slow page holds
    /// at most one chunk here and backs up only its own connection to the owner. The relay ends
    /// when the owner ends the stream (a partition released, a restart): the page reconnects, and
    /// its next request finds the partition's owner then.
    ///
    /// - Parameter client: a client without a read timeout shorter than the stream's keep-alive,
    ///   allowing as many connections per shard as pages may watch.
    /// - Throws: ``APIError`` `partitionMoving` when the partition has no owner within the patience,
    ///   `ownerUnreachable` when the owner does not answer.
    public func relayStreamIfElsewhere(guild: GuildID, _ request: Request, client: HTTPClient) async throws
        -> Response?
    {
        guard request.headers[ClusterAuthenticator.Header.forwarded] == nil else { return nil }
        let partition = data.partition(for: guild)
        let deadline = ContinuousClock.now + patience
        while true {
            if await agent.node.serves(partition) { return nil }
            if let target = agent.ownerURL(of: partition.rawValue) {
                do { return try await relay(request, to: target, client: client) } catch let error as APIError
                    where error.code == .ownerUnreachable
                {
                    if ContinuousClock.now >= deadline { throw error }
                }
            }
            guard ContinuousClock.now < deadline else {
                throw APIError(.partitionMoving, "partition \(partition) has no owner yet; retry")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    private func relay(_ request: Request, to target: String, client: HTTPClient) async throws -> Response {
        guard Heartbeat.isValidURL(target) else {
            throw APIError(.ownerUnreachable, "the shard owning this guild announced no usable URL; retry")
        }
        let path = request.uri.description
        var out = HTTPClientRequest(url: target + path)
        out.method = .GET
        out.headers.add(name: "Accept", value: "text/event-stream")
        for name in [HTTPField.Name("Last-Event-ID")!, .requestID] {
            if let value = request.headers[name] { out.headers.add(name: name.rawName, value: value) }
        }
        for (name, value) in agent.authenticator.sign(method: "GET", path: path, body: [UInt8]()) {
            out.headers.add(name: name.rawName, value: value)
        }
        let response: HTTPClientResponse
        do { response = try await client.execute(out, timeout: .hours(2)) } catch {
            throw APIError(.ownerUnreachable, "the shard owning this guild did not answer; retry")
        }
        guard response.status == .ok else {
            // A refusal (a wrong key, say) is the owner's to give: passed on as it answered.
            let body = try await response.body.collect(upTo: 1 << 20)
            var headers = HTTPFields()
            if let type = response.headers.first(name: "Content-Type") { headers[.contentType] = type }
            return Response(
                status: .init(code: Int(response.status.code)), headers: headers, body: .init(byteBuffer: body))
        }
        let upstream = response.body
        return Response(
            status: .ok,
            headers: [.contentType: "text/event-stream", .cacheControl: "no-store"],
            body: ResponseBody { writer in
                let stopping = Mutex(false)
                try await withGracefulShutdownHandler {
                    // The owner writes at least a keep-alive comment every 15 s, so a shutdown here
                    // ends the relay within that.
                    for try await chunk in upstream {
                        try await writer.write(chunk)
                        if stopping.withLock({ $0 }) { break }
                    }
                } onGracefulShutdown: {
                    stopping.withLock { $0 = true }
                }
                try await writer.finish(nil)
            })
    }
}

extension HTTPClient {
    /// A client for relaying event streams between shards: it connects fast (a dead owner refuses at
    /// once), waits up to a minute between two reads (the owner sends a keep-alive every 15 s), and
    /// opens as many connections to a shard as pages watch.
    public static func streaming() -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .milliseconds(500), read: .seconds(60))
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 10_000
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }
}
