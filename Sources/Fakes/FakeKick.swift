import Crypto
public import Foundation
import HTTPTypes
public import Hummingbird
public import Kick
public import NIOCore
import Synchronization
public import _CryptoExtras

/// A stand-in for Kick on loopback, for tests and `tally serve --demo`: it signs webhooks with its
/// own RSA-2048 key (Tally is configured with the public half, exactly as with Kick's), serves the
/// OAuth authorize and token endpoints (with a real PKCE check), `GET /public/v1/users`,
/// `POST /public/v1/chat` and `POST /public/v1/events/subscriptions`, records every call, and can
/// answer 429, 500 or slowly on demand.
public final class FakeKick: Sendable {
    public let privateKey: _RSA.Signing.PrivateKey
    public let clientID: String
    public let clientSecret: String
    public let botToken: String
    private let state = Mutex(State())

    /// What the fake has seen and what it will do next.
    struct State {
        var chats: [ChatMessage] = []
        var subscriptions: [Subscription] = []
        var tokenRequests = 0
        /// Scripted answers, taken one per call of a route, before the normal answer.
        var scripted: [String: [Fault]] = [:]
        /// Issued authorization codes: code → (user, challenge, redirect URI).
        var codes: [String: (user: UInt64, challenge: String, redirect: String)] = [:]
        /// Viewer tokens → user.
        var tokens: [String: UInt64] = [:]
        var users: [UInt64: String] = [:]
        /// Who consents at the authorize endpoint next.
        var consentingUser: UInt64?
        var nextID: UInt64 = 1
    }

    /// A chat message the bot sent.
    public struct ChatMessage: Sendable, Equatable {
        public var broadcaster: UInt64
        public var content: String
        public var replyTo: String?
    }

    /// An event subscription Tally created.
    public struct Subscription: Sendable, Equatable {
        public var broadcaster: UInt64
        public var events: [String]
    }

    /// An answer forced on the next call of a route.
    public enum Fault: Sendable {
        case status(Int, retryAfter: Int?)
        case slow(Duration)
    }

    public init(
        clientID: String = "fake-client", clientSecret: String = "fake-secret", botToken: String = "fake-bot-token"
    )
        throws
    {
        privateKey = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.botToken = botToken
    }

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }()

    /// The public key Tally verifies webhooks with.
    public var publicKeyPEM: String { privateKey.publicKey.pemRepresentation }

    /// The app configuration that points Tally at this fake at `base` (`http://127.0.0.1:PORT`).
    public func configuration(base: String) -> KickConfiguration {
        var configuration = KickConfiguration(
            clientID: clientID, clientSecret: clientSecret, botToken: botToken, webhookPublicKeyPEM: publicKeyPEM)
        configuration.apiBase = base
        configuration.oauthBase = base
        return configuration
    }

    // MARK: Recording and scripting

    public var chats: [ChatMessage] { state.withLock { $0.chats } }
    public var subscriptions: [Subscription] { state.withLock { $0.subscriptions } }

    /// The next `count` calls of `route` (`chat`, `subscriptions`, `token`, `users`) get `fault`.
    public func inject(_ fault: Fault, on route: String, count: Int = 1) {
        state.withLock { $0.scripted[route, default: []] += Array(repeating: fault, count: count) }
    }

    /// The Kick user who logs in and consents at the next authorize request.
    public func consent(as user: UInt64, name: String) {
        state.withLock {
            $0.users[user] = name
            $0.consentingUser = user
        }
    }

    // MARK: Webhooks

    /// A webhook as Kick sends it: the signed headers and the body.
    public struct Webhook: Sendable {
        public var headers: [(String, String)]
        public var body: Data
    }

    /// Signs `body` as a webhook of `type`, with `messageID` and `timestamp` (RFC 3339).
    public func webhook(type: String, body: Data, messageID: String, timestamp: String) throws -> Webhook {
        var signed = Data("\(messageID).\(timestamp).".utf8)
        signed.append(body)
        let signature = try privateKey.signature(for: signed, padding: .insecurePKCS1v1_5)
        return Webhook(
            headers: [
                ("Kick-Event-Message-Id", messageID), ("Kick-Event-Subscription-Id", "sub-1"),
                ("Kick-Event-Signature", Data(signature.rawRepresentation).base64EncodedString()),
                ("Kick-Event-Message-Timestamp", timestamp), ("Kick-Event-Type", type), ("Kick-Event-Version", "1"),
            ], body: body)
    }

    /// The RFC 3339 form of `milliseconds` since the Unix epoch.
    public static func rfc3339(_ milliseconds: Int64) -> String {
        let date = Date(timeIntervalSince1970: Double(milliseconds) / 1000)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }

    // MARK: The server

    /// The fake's HTTP routes.
    public func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.get("/oauth/authorize") { request, _ in try await self.authorize(request) }
        router.post("/oauth/token") { request, _ in try await self.token(request) }
        router.get("/public/v1/users") { request, _ in try await self.users(request) }
        router.post("/public/v1/chat") { request, _ in try await self.chat(request) }
        router.post("/public/v1/events/subscriptions") { request, _ in try await self.subscribe(request) }
        return router
    }

    /// An application serving the fake at `address`.
    public func application(
        address: BindAddress, onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        Application(
            router: router(), configuration: .init(address: address, serverName: "fake-kick"),
            onServerRunning: onServerRunning)
    }

    private func scripted(_ route: String) async throws -> Response? {
        let fault: Fault? = state.withLock { s in
            guard var queue = s.scripted[route], !queue.isEmpty else { return nil }
            let first = queue.removeFirst()
            s.scripted[route] = queue
            return first
        }
        switch fault {
        case .status(let code, let retryAfter):
            var headers = HTTPFields()
            if let retryAfter { headers[HTTPField.Name("Retry-After")!] = String(retryAfter) }
            return Response(
                status: .init(code: code), headers: headers,
                body: .init(byteBuffer: ByteBuffer(string: #"{"message":"fault"}"#)))
        case .slow(let duration):
            try await Task.sleep(for: duration)
            return nil
        case nil:
            return nil
        }
    }

    private func bearer(_ request: Request) -> String? {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else { return nil }
        return String(header.dropFirst(7))
    }

    private static func json(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    private func authorize(_ request: Request) async throws -> Response {
        let q = request.uri.queryParameters
        guard q["client_id"].map(String.init) == clientID, q["response_type"] == "code",
            q["code_challenge_method"] == "S256", let challenge = q["code_challenge"], let redirect = q["redirect_uri"],
            let stateParameter = q["state"]
        else { return Self.json(#"{"error":"invalid_request"}"#, status: .badRequest) }
        let code: String? = state.withLock { s in
            guard let user = s.consentingUser else { return nil }
            let code = "code-\(s.nextID)"
            s.nextID += 1
            s.codes[code] = (user, String(challenge), String(redirect))
            return code
        }
        guard let code else { return Self.json(#"{"error":"access_denied"}"#, status: .forbidden) }
        var target = URLComponents(string: String(redirect))!
        target.queryItems =
            (target.queryItems ?? []) + [
                .init(name: "code", value: code), .init(name: "state", value: String(stateParameter)),
            ]
        return Response(status: .found, headers: [.location: target.url!.absoluteString])
    }

    private func token(_ request: Request) async throws -> Response {
        if let answer = try await scripted("token") { return answer }
        var request = request
        let body = String(buffer: try await request.collectBody(upTo: 1 << 16))
        var form: [String: String] = [:]
        for pair in body.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map {
                String($0).removingPercentEncoding ?? String($0)
            }
            if parts.count == 2 { form[parts[0]] = parts[1] }
        }
        let token: String? = state.withLock { s in
            s.tokenRequests += 1
            guard form["grant_type"] == "authorization_code", form["client_id"] == clientID,
                form["client_secret"] == clientSecret, let code = form["code"], let issued = s.codes[code],
                form["redirect_uri"] == issued.redirect, let verifier = form["code_verifier"],
                PKCE.challenge(for: verifier) == issued.challenge
            else { return nil }
            s.codes.removeValue(forKey: code)
            let token = "user-token-\(s.nextID)"
            s.nextID += 1
            s.tokens[token] = issued.user
            return token
        }
        guard let token else { return Self.json(#"{"error":"invalid_grant"}"#, status: .badRequest) }
        return Self.json(
            #"{"accessToken":"\#(token)","token_type":"Bearer","refresh_token":"r","expires_in":3600,"scope":"user:read"}"#
        )
    }

    private func users(_ request: Request) async throws -> Response {
        if let answer = try await scripted("users") { return answer }
        let user: (UInt64, String)? = state.withLock { s in
            guard let token = bearer(request), let id = s.tokens[token], let name = s.users[id] else { return nil }
            return (id, name)
        }
        guard let (id, name) = user else { return Self.json(#"{"message":"Unauthorized"}"#, status: .unauthorized) }
        return Self.json(
            #"{"data":[{"user_id":\#(id),"name":"\#(name)","email":"","profile_picture":""}],"message":"OK"}"#)
    }

    private func chat(_ request: Request) async throws -> Response {
        guard bearer(request) == botToken else {
            return Self.json(#"{"message":"Unauthorized"}"#, status: .unauthorized)
        }
        if let answer = try await scripted("chat") { return answer }
        struct Body: Decodable {
            var broadcasterUserId: UInt64
            var content: String
            var type: String
            var replyToMessageId: String?
        }
        var request = request
        guard
            let body = try? Self.decoder.decode(
                Body.self, from: Data(buffer: try await request.collectBody(upTo: 1 << 16))),
            body.content.utf8.count <= 500, body.type == "bot"
        else { return Self.json(#"{"message":"invalid"}"#, status: .badRequest) }
        let id: UInt64 = state.withLock { s in
            s.chats.append(
                ChatMessage(
                    broadcaster: body.broadcasterUserId, content: body.content, replyTo: body.replyToMessageId))
            defer { s.nextID += 1 }
            return s.nextID
        }
        return Self.json(#"{"data":{"is_sent":true,"message_id":"fake-\#(id)"},"message":"OK"}"#)
    }

    private func subscribe(_ request: Request) async throws -> Response {
        guard bearer(request) == botToken else {
            return Self.json(#"{"message":"Unauthorized"}"#, status: .unauthorized)
        }
        if let answer = try await scripted("subscriptions") { return answer }
        struct Body: Decodable {
            struct Event: Decodable { var name: String }
            var broadcasterUserId: UInt64
            var events: [Event]
            var method: String
        }
        var request = request
        guard
            let body = try? Self.decoder.decode(
                Body.self, from: Data(buffer: try await request.collectBody(upTo: 1 << 16))),
            body.method == "webhook"
        else { return Self.json(#"{"message":"invalid"}"#, status: .badRequest) }
        state.withLock {
            $0.subscriptions.append(
                Subscription(broadcaster: body.broadcasterUserId, events: body.events.map(\.name)))
        }
        let data = body.events.map {
            #"{"name":"\#($0.name)","version":1,"subscription_id":"s-\#($0.name)","error":""}"#
        }
        return Self.json(#"{"data":[\#(data.joined(separator: ","))],"message":"OK"}"#)
    }
}
