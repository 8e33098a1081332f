public import Crypto
public import Discord
public import Foundation
import HTTPTypes
public import Hummingbird
public import NIOCore
import Synchronization

/// A stand-in for Discord on loopback, for tests and `tally serve --demo`.
///
/// It signs interactions with its own Ed25519 key (Tally is configured with the public half, as with
/// Discord's), and serves the REST endpoints Tally calls — role grants and removals, channel messages
/// (honouring `nonce` + `enforce_nonce`), the original interaction response, command registration —
/// with realistic rate limits: a per-route bucket per major id (roles: ``roleLimit`` per guild;
/// messages: ``messageLimit`` per channel), a global limit, and the `X-RateLimit-*` headers of each.
/// A request over a limit gets a 429 with `retry_after` and `X-RateLimit-Scope`. It records every
/// call, and answers 429, 5xx, 403 or slowly on demand.
public final class FakeDiscord: Sendable {
    /// The signing key's raw bytes (swift-crypto's key type is not `Sendable`).
    private let signingKeyBytes: Data
    public var signingKey: Curve25519.Signing.PrivateKey {
        // The bytes came from a valid key.
        try! Curve25519.Signing.PrivateKey(rawRepresentation: signingKeyBytes)
    }
    public let applicationID: String
    public let botToken: String
    /// Requests per window in each role bucket (per guild). Discord's is about 10 per 10 s; tests make
    /// the window short to run fast.
    public let roleLimit: Limit
    public let messageLimit: Limit
    /// Requests per second across every route.
    public let globalPerSecond: Int
    private let state = Mutex(State())

    /// A bucket's size: `requests` per `window`.
    public struct Limit: Sendable {
        public var requests: Int
        public var window: Duration
        public init(requests: Int, window: Duration) {
            self.requests = requests
            self.window = window
        }
    }

    /// A REST call the fake received.
    public struct Call: Sendable, Equatable {
        public var method: String
        public var path: String
        public var body: String
        /// What the fake answered.
        public var status: Int
    }

    /// An answer forced on the next call of a route (`roles`, `messages`, `webhooks`, `commands`).
    public enum Fault: Sendable {
        /// A status with Discord's JSON error `code` (403 with 50013, 404 with 10007 …).
        case status(Int, code: Int)
        /// A 429 with `retry_after` seconds and a scope (`user`, `shared`, `global`).
        case rateLimited(retryAfter: Double, scope: String)
        case slow(Duration)
    }

    struct Window {
        var start: ContinuousClock.Instant
        var count: Int
    }

    struct State {
        var calls: [Call] = []
        var scripted: [String: [Fault]] = [:]
        var windows: [String: Window] = [:]
        var global = Window(start: .now, count: 0)
        /// Roles each member holds: "guild/user" → roles.
        var roles: [String: Set<UInt64>] = [:]
        /// Messages by id; nonces by channel.
        var messages: [(id: UInt64, channel: UInt64, content: String)] = []
        var nonces: [String: UInt64] = [:]
        var rateLimited = 0
        var nextID: UInt64 = 1_100_000_000_000_000_000
        var commands: [String] = []
        var originals: [String: String] = [:]
    }

    public init(
        applicationID: String = "1000000000000000001", botToken: String = "fake-discord-bot-token",
        roleLimit: Limit = Limit(requests: 10, window: .seconds(10)),
        messageLimit: Limit = Limit(requests: 5, window: .seconds(5)), globalPerSecond: Int = 50
    ) {
        signingKeyBytes = Curve25519.Signing.PrivateKey().rawRepresentation
        self.applicationID = applicationID
        self.botToken = botToken
        self.roleLimit = roleLimit
        self.messageLimit = messageLimit
        self.globalPerSecond = globalPerSecond
    }

    /// The public key Tally verifies interactions with, as 64 hex characters.
    public var publicKeyHex: String {
        signingKey.publicKey.rawRepresentation.map { String(format: "%02x", $0) }.joined()
    }

    /// The app configuration that points Tally at this fake at `base` (`http://127.0.0.1:PORT`).
    public func configuration(base: String) -> DiscordConfiguration {
        var configuration = DiscordConfiguration(
            applicationID: applicationID, publicKeyHex: publicKeyHex, botToken: botToken)
        configuration.apiBase = base + "/api/v10"
        configuration.globalRequestsPerSecond = globalPerSecond
        return configuration
    }

    // MARK: Interactions

    /// An interaction as Discord posts it: the two signature headers and the body.
    public struct SignedInteraction: Sendable {
        public var signature: String
        public var timestamp: String
        public var body: Data
        public var headers: [(String, String)] {
            [
                ("X-Signature-Ed25519", signature), ("X-Signature-Timestamp", timestamp),
                ("Content-Type", "application/json"),
            ]
        }
    }

    /// Signs `body` as Discord would at `timestamp` (Unix seconds).
    public func sign(_ body: Data, timestamp: Int64) throws -> SignedInteraction {
        var signed = Data(String(timestamp).utf8)
        signed.append(body)
        let signature = try signingKey.signature(for: signed)
        return SignedInteraction(
            signature: signature.map { String(format: "%02x", $0) }.joined(), timestamp: String(timestamp), body: body)
    }

    // MARK: Recording and scripting

    public var calls: [Call] { state.withLock { $0.calls } }
    /// How many requests the fake refused with 429, forced ones included.
    public var rateLimitedCount: Int { state.withLock { $0.rateLimited } }
    /// The roles `user` holds in `guild`.
    public func roles(guild: UInt64, user: UInt64) -> Set<UInt64> {
        state.withLock { $0.roles["\(guild)/\(user)"] ?? [] }
    }
    /// Messages posted in `channel`, oldest first.
    public func messages(in channel: UInt64) -> [String] {
        state.withLock { $0.messages.filter { $0.channel == channel }.map(\.content) }
    }
    /// The body of the last edit of the original response under `token` (a deferred interaction's
    /// follow-up), if any.
    public func original(token: String) -> String? { state.withLock { $0.originals[token] } }
    /// Bodies of the command registrations received.
    public var registrations: [String] { state.withLock { $0.commands } }

    /// The next `count` calls of `route` get `fault`.
    public func inject(_ fault: Fault, on route: String, count: Int = 1) {
        state.withLock { $0.scripted[route, default: []] += Array(repeating: fault, count: count) }
    }

    // MARK: The server

    public func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        let api = router.group("/api/v10")
        api.put("/guilds/:guild/members/:user/roles/:role") { request, context in
            try await self.role(request, context, grant: true)
        }
        api.delete("/guilds/:guild/members/:user/roles/:role") { request, context in
            try await self.role(request, context, grant: false)
        }
        api.post("/channels/:channel/messages") { request, context in try await self.message(request, context) }
        api.patch("/webhooks/:app/:token/messages/@original") { request, context in
            try await self.original(request, context)
        }
        api.put("/applications/:app/commands") { request, _ in try await self.register(request) }
        api.put("/applications/:app/guilds/:guild/commands") { request, _ in try await self.register(request) }
        return router
    }

    public func application(
        address: BindAddress, onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        Application(
            router: router(), configuration: .init(address: address, serverName: "fake-discord"),
            onServerRunning: onServerRunning)
    }

    /// The verdict on one request: go ahead (with its bucket's headers), or an answer now.
    private func admit(
        _ request: Request, route: String, bucket: String, major: String, limit: Limit, body: String
    ) async throws -> (headers: HTTPFields, answer: Response?) {
        let method = request.method.rawValue
        let path = request.uri.path
        guard request.headers[.authorization] == "Bot " + botToken else {
            return (
                HTTPFields(), record(method, path, body, Self.json(#"{"message":"401: Unauthorized","code":0}"#, 401))
            )
        }
        let fault: Fault? = state.withLock { s in
            guard var queue = s.scripted[route], !queue.isEmpty else { return nil }
            let first = queue.removeFirst()
            s.scripted[route] = queue
            return first
        }
        switch fault {
        case .status(let status, let code):
            return (
                HTTPFields(), record(method, path, body, Self.json(#"{"message":"fault","code":\#(code)}"#, status))
            )
        case .rateLimited(let retryAfter, let scope):
            var headers = HTTPFields()
            headers[HTTPField.Name("Retry-After")!] = String(Int(retryAfter.rounded(.up)))
            headers[HTTPField.Name("X-RateLimit-Scope")!] = scope
            if scope == "global" { headers[HTTPField.Name("X-RateLimit-Global")!] = "true" }
            state.withLock { $0.rateLimited += 1 }
            return (
                HTTPFields(),
                record(
                    method, path, body,
                    Self.json(
                        #"{"message":"You are being rate limited.","retry_after":\#(retryAfter),"global":\#(scope == "global")}"#,
                        429, headers))
            )
        case .slow(let duration):
            try await Task.sleep(for: duration)
        case nil:
            break
        }
        let now = ContinuousClock.now
        let verdict: (HTTPFields, Response?) = state.withLock { s in
            if s.global.start.duration(to: now) >= .seconds(1) { s.global = Window(start: now, count: 0) }
            if s.global.count >= globalPerSecond {
                s.rateLimited += 1
                let retry = Self.seconds(now.duration(to: s.global.start.advanced(by: .seconds(1))))
                var headers = HTTPFields()
                headers[HTTPField.Name("X-RateLimit-Global")!] = "true"
                headers[HTTPField.Name("X-RateLimit-Scope")!] = "global"
                headers[HTTPField.Name("Retry-After")!] = String(Int(retry.rounded(.up)))
                return (
                    HTTPFields(),
                    Self.json(
                        #"{"message":"You are being rate limited.","retry_after":\#(retry),"global":true}"#, 429,
                        headers)
                )
            }
            let key = bucket + "|" + major
            var window = s.windows[key] ?? Window(start: now, count: 0)
            if window.start.duration(to: now) >= limit.window { window = Window(start: now, count: 0) }
            let resetAfter = Self.seconds(now.duration(to: window.start.advanced(by: limit.window)))
            var headers = HTTPFields()
            headers[HTTPField.Name("X-RateLimit-Limit")!] = String(limit.requests)
            headers[HTTPField.Name("X-RateLimit-Bucket")!] = bucket
            headers[HTTPField.Name("X-RateLimit-Reset-After")!] = String(format: "%.3f", resetAfter)
            if window.count >= limit.requests {
                s.rateLimited += 1
                headers[HTTPField.Name("X-RateLimit-Remaining")!] = "0"
                headers[HTTPField.Name("X-RateLimit-Scope")!] = "user"
                headers[HTTPField.Name("Retry-After")!] = String(Int(resetAfter.rounded(.up)))
                s.windows[key] = window
                return (
                    HTTPFields(),
                    Self.json(
                        #"{"message":"You are being rate limited.","retry_after":\#(String(format: "%.3f", resetAfter)),"global":false}"#,
                        429, headers)
                )
            }
            window.count += 1
            s.global.count += 1
            s.windows[key] = window
            headers[HTTPField.Name("X-RateLimit-Remaining")!] = String(limit.requests - window.count)
            return (headers, nil)
        }
        if let answer = verdict.1 { return (verdict.0, record(method, path, body, answer)) }
        return (verdict.0, nil)
    }

    private func record(_ method: String, _ path: String, _ body: String, _ response: Response) -> Response {
        state.withLock {
            $0.calls.append(Call(method: method, path: path, body: body, status: Int(response.status.code)))
        }
        return response
    }

    private func role(_ request: Request, _ context: BasicRequestContext, grant: Bool) async throws -> Response {
        let guild = context.parameters.get("guild", as: UInt64.self) ?? 0
        let user = context.parameters.get("user", as: UInt64.self) ?? 0
        let role = context.parameters.get("role", as: UInt64.self) ?? 0
        let (headers, answer) = try await admit(
            request, route: "roles", bucket: "f3a1c9role", major: "\(guild)", limit: roleLimit, body: "")
        if let answer { return answer }
        state.withLock { s in
            if grant {
                s.roles["\(guild)/\(user)", default: []].insert(role)
            } else {
                s.roles["\(guild)/\(user)"]?.remove(role)
            }
        }
        return record(request.method.rawValue, request.uri.path, "", Response(status: .noContent, headers: headers))
    }

    private func message(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let channel = context.parameters.get("channel", as: UInt64.self) ?? 0
        var request = request
        let text = String(buffer: try await request.collectBody(upTo: 1 << 16))
        let (headers, answer) = try await admit(
            request, route: "messages", bucket: "80c17dmsgs", major: "\(channel)", limit: messageLimit, body: text)
        if let answer { return answer }
        let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
        guard let content = object["content"] as? String, !content.isEmpty, content.count <= 2000 else {
            return record(
                "POST", request.uri.path, text,
                Self.json(#"{"message":"Invalid Form Body","code":50035}"#, 400, headers))
        }
        let nonce = object["nonce"] as? String
        let enforce = object["enforce_nonce"] as? Bool == true
        let id: UInt64 = state.withLock { s in
            if enforce, let nonce, let first = s.nonces["\(channel)/\(nonce)"] { return first }
            s.nextID += 1
            s.messages.append((s.nextID, channel, content))
            if let nonce { s.nonces["\(channel)/\(nonce)"] = s.nextID }
            return s.nextID
        }
        return record(
            "POST", request.uri.path, text,
            Self.json(#"{"id":"\#(id)","channel_id":"\#(channel)","content":\#(Self.quoted(content))}"#, 200, headers))
    }

    private func original(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let token = context.parameters.get("token") ?? ""
        var request = request
        let text = String(buffer: try await request.collectBody(upTo: 1 << 16))
        let (headers, answer) = try await admit(
            request, route: "webhooks", bucket: "0a1b2cwebh", major: token, limit: messageLimit, body: text)
        if let answer { return answer }
        state.withLock { $0.originals[token] = text }
        return record("PATCH", request.uri.path, text, Self.json(#"{"id":"1"}"#, 200, headers))
    }

    private func register(_ request: Request) async throws -> Response {
        var request = request
        let text = String(buffer: try await request.collectBody(upTo: 1 << 20))
        let (headers, answer) = try await admit(
            request, route: "commands", bucket: "c0mmands00", major: "app",
            limit: Limit(requests: 2, window: .seconds(1)), body: text)
        if let answer { return answer }
        guard (try? JSONSerialization.jsonObject(with: Data(text.utf8))) is [Any] else {
            return record(
                "PUT", request.uri.path, text, Self.json(#"{"message":"Invalid Form Body","code":50035}"#, 400))
        }
        state.withLock { $0.commands.append(text) }
        return record("PUT", request.uri.path, text, Self.json(text, 200, headers))
    }

    static func seconds(_ duration: Duration) -> Double {
        let (s, atto) = duration.components
        return max(0, Double(s) + Double(atto) / 1e18)
    }

    static func quoted(_ text: String) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: [text])) ?? Data("[\"\"]".utf8)
        return String(decoding: data.dropFirst().dropLast(), as: UTF8.self)
    }

    private static func json(_ text: String, _ status: Int, _ headers: HTTPFields = HTTPFields()) -> Response {
        var headers = headers
        headers[.contentType] = "application/json"
        return Response(
            status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
