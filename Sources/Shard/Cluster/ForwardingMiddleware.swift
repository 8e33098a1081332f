public import AsyncHTTPClient
public import Coordinator
public import EventLog
import Foundation
import HTTPTypes
public import Hummingbird
public import NIOCore
import NIOHTTP1

/// Sends a request for a guild whose partition another shard owns to that shard, so a client can
/// talk to any node. A partition that is moving is waited for (bounded), then served by its new owner.
///
/// A forward is signed with the cluster key and carries the SHA-256 of the client's bearer token,
/// never the token: the owner decides what the client may do. A request another node forwarded
/// (its signature checked by ``Coordinator/ClusterAuthMiddleware``) is never sent on again; a
/// client's own `X-Tally-Forwarded` is removed before it gets here, so it changes nothing.
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

    /// Discord's and Kick's signature headers (and Kick's event type): a forwarded interaction or
    /// webhook is verified again by the shard it reaches.
    static var signatureHeaders: [HTTPField.Name] {
        [
            "X-Signature-Ed25519", "X-Signature-Timestamp", "Kick-Event-Message-Id", "Kick-Event-Message-Timestamp",
            "Kick-Event-Signature", "Kick-Event-Type", "Kick-Event-Version", "Kick-Event-Subscription-Id",
        ].compactMap { HTTPField.Name($0) }
    }

    /// Sends `request` (one every shard must see, as a Kick webhook whose channel may be connected
    /// to guilds anywhere) to every other shard that owns partitions, at once, and returns their
    /// answers; waits (bounded) while a partition has no owner. A request forwarded once is never
    /// sent on again: it gets an empty list.
    ///
    /// - Throws: ``APIError`` `partitionMoving` when a partition still has no owner at the deadline,
    ///   `ownerUnreachable` when a shard does not answer (the sender retries; the commands are keyed,
    ///   so what reached a shard twice is a duplicate there).
    public func sendToEveryOtherOwner(_ request: Request) async throws -> [Answer] {
        guard request.headers[ClusterAuthenticator.Header.forwarded] == nil else { return [] }
        let deadline = ContinuousClock.now + patience
        var targets = agent.otherOwnerURLs(partitions: data.partitionCount)
        while targets == nil {
            guard ContinuousClock.now < deadline else {
                throw APIError(.partitionMoving, "a partition has no owner yet; retry")
            }
            try await Task.sleep(for: .milliseconds(100))
            targets = agent.otherOwnerURLs(partitions: data.partitionCount)
        }
        var request = request
        _ = try await request.collectBody(upTo: ShardAPI.maxBatchBody + 1)
        let sending = request
        let (client, authenticator) = (self.client, agent.authenticator)
        return try await withThrowingTaskGroup(of: Answer.self) { group in
            for target in targets ?? [] {
                group.addTask {
                    do {
                        return try await Self.exchange(
                            sending, to: target, client: client, authenticator: authenticator)
                    } catch let error as APIError { throw error } catch {
                        throw APIError(.ownerUnreachable, "a shard did not answer; retry")
                    }
                }
            }
            var answers: [Answer] = []
            for try await answer in group { answers.append(answer) }
            return answers
        }
    }

    /// Sends a request for `guild` that arrived on a path without the guild in it (a Discord
    /// interaction) to the shard owning the guild's partition, waiting for a moving one; nil when this
    /// node serves it. A request forwarded once is never sent on again.
    public func forwardIfElsewhere(guild: GuildID, _ request: Request) async throws -> Response? {
        let partition = data.partition(for: guild)
        let deadline = ContinuousClock.now + patience
        while true {
            if await agent.node.serves(partition) { return nil }
            if let target = agent.ownerURL(of: partition.rawValue),
                request.headers[ClusterAuthenticator.Header.forwarded] == nil
            {
                do { return try await forward(request, to: target) } catch let error as APIError
                    where error.code == .ownerUnreachable
                {
                    // The owner died: its partitions move once its lease expires. Wait for that.
                    if ContinuousClock.now >= deadline { throw error }
                }
            }
            guard ContinuousClock.now < deadline else {
                throw APIError(.partitionMoving, "partition \(partition) has no owner yet; retry")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        let parts = request.uri.path.split(separator: "/")
        guard parts.count >= 3, parts[0] == "v1", parts[1] == "guilds", let raw = UInt64(parts[2]) else {
            return try await next(request, context)
        }
        // Buffer the body once, so it can be sent again (to a new owner) or read here.
        var request = request
        _ = try await request.collectBody(upTo: ShardAPI.maxBatchBody + 1)
        if let response = try await forwardIfElsewhere(guild: GuildID(raw), request) { return response }
        return try await next(request, context)
    }

    private func forward(_ request: Request, to target: String) async throws -> Response {
        do {
            return try await Self.send(request, to: target, client: client, authenticator: agent.authenticator)
        } catch let error as APIError {
            throw error
        } catch {
            throw APIError(
                .ownerUnreachable, "the shard owning this guild did not answer; retry")
        }
    }

    /// Sends `request` (its method, path, query, body, `Content-Type`, `X-Request-Id` and Discord's
    /// signature headers, which the owner verifies again) to `target`, signed with the cluster key and
    /// carrying the digest of the client's bearer token in place of its `Authorization`, and returns
    /// the answer as a response. The receiver's check of the signature marks it forwarded, so it is
    /// not sent on again.
    public static func send(
        _ request: Request, to target: String, client: HTTPClient, authenticator: ClusterAuthenticator
    ) async throws -> Response {
        let answer = try await exchange(request, to: target, client: client, authenticator: authenticator)
        var headers = HTTPFields()
        if let type = answer.contentType { headers[.contentType] = type }
        // A link step answers with a redirect (to Kick, or to the result page).
        if let location = answer.location { headers[.location] = location }
        // The owner's advice on when to retry reaches the client.
        if let retryAfter = answer.retryAfter { headers[.retryAfter] = retryAfter }
        return Response(status: .init(code: answer.status), headers: headers, body: .init(byteBuffer: answer.body))
    }

    /// How long a forwarded request waits for the owner's answer.
    static var forwardTimeout: TimeAmount { .seconds(4) }

    /// What another shard answered a forwarded request.
    public struct Answer: Sendable {
        public var status: Int
        public var contentType: String?
        public var location: String?
        public var retryAfter: String? = nil
        public var body: ByteBuffer
    }

    /// Sends `request` as ``send(_:to:client:authenticator:)`` does and returns the answer as it came.
    static func exchange(
        _ request: Request, to target: String, client: HTTPClient, authenticator: ClusterAuthenticator
    ) async throws -> Answer {
        guard Heartbeat.isValidURL(target) else {
            throw APIError(.ownerUnreachable, "the shard owning this guild announced no usable URL; retry")
        }
        let path = request.uri.description
        var out = HTTPClientRequest(url: target + path)
        out.method = HTTPMethod(rawValue: request.method.rawValue)
        for field in request.headers
        where field.name == .contentType || field.name == .requestID || Self.signatureHeaders.contains(field.name) {
            out.headers.add(name: field.name.rawName, value: field.value)
        }
        var request = request
        let body = try await request.collectBody(upTo: ShardAPI.maxBatchBody + 1)
        let credential = request.headers[.authorization].flatMap(Authorizer.tokenDigest(authorization:))
        for (name, value) in authenticator.sign(
            method: request.method.rawValue, path: path, body: body.readableBytesView, credential: credential)
        {
            out.headers.add(name: name.rawName, value: value)
        }
        if body.readableBytes > 0 { out.body = .bytes(body) }
        // Within a lease (5 s): an owner that has not answered by then is paused or lost, and the
        // client gets 503 `owner_unreachable` with Retry-After before its own timeout, not a hang.
        let response = try await client.execute(out, timeout: Self.forwardTimeout)
        let data = try await response.body.collect(upTo: 64 << 20)
        return Answer(
            status: Int(response.status.code), contentType: response.headers.first(name: "Content-Type"),
            location: response.headers.first(name: "Location"),
            retryAfter: response.headers.first(name: "Retry-After"), body: data)
    }
}
