public import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Kick's public API and OAuth server, as Tally calls them: chat messages as the bot, event
/// subscriptions, the authorization-code exchange with PKCE, and the user behind a token.
public struct KickAPI: Sendable {
    public let configuration: KickConfiguration
    let client: HTTPClient
    /// How long one call may take. Default 10 s.
    public var timeout: Duration = .seconds(10)

    /// Kick's JSON is snake case.
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return encoder
    }()
    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }()

    public init(configuration: KickConfiguration, client: HTTPClient) {
        self.configuration = configuration
        self.client = client
    }

    /// What an API call answered: enough to decide whether to retry.
    public struct Answer: Sendable {
        public var status: Int
        /// From `Retry-After` (seconds), when present.
        public var retryAfter: Duration?
        public var body: String
    }

    /// `POST /public/v1/chat`: a message in the broadcaster's chat, as the bot.
    public func sendChat(broadcaster: UInt64, content: String, replyTo: String?) async throws -> Answer {
        struct Body: Encodable {
            var broadcasterUserId: UInt64
            var content: String
            var type = "bot"
            var replyToMessageId: String?
        }
        return try await post(
            "/public/v1/chat",
            json: Body(broadcasterUserId: broadcaster, content: content, replyToMessageId: replyTo))
    }

    /// `POST /public/v1/events/subscriptions`: webhooks for these event types of the broadcaster.
    public func subscribe(broadcaster: UInt64, events: [String]) async throws -> Answer {
        struct Event: Encodable {
            var name: String
            var version = 1
        }
        struct Body: Encodable {
            var broadcasterUserId: UInt64
            var events: [Event]
            var method = "webhook"
        }
        return try await post(
            "/public/v1/events/subscriptions",
            json: Body(broadcasterUserId: broadcaster, events: events.map { Event(name: $0) }))
    }

    /// The URL that starts Kick's authorization for a viewer.
    public func authorizeURL(redirectURI: String, state: String, challenge: String) -> String {
        var components = URLComponents(string: configuration.oauthBase + "/oauth/authorize")!
        components.queryItems = [
            .init(name: "response_type", value: "code"), .init(name: "client_id", value: configuration.clientID),
            .init(name: "redirect_uri", value: redirectURI), .init(name: "state", value: state),
            .init(name: "scope", value: "user:read"), .init(name: "code_challenge", value: challenge),
            .init(name: "code_challenge_method", value: "S256"),
        ]
        return components.url!.absoluteString
    }

    /// `POST /oauth/token` (form-encoded): exchanges an authorization code for the viewer's token.
    ///
    /// - Throws: ``KickError`` `api` when Kick refuses the code or cannot be reached.
    public func exchangeCode(_ code: String, verifier: String, redirectURI: String) async throws -> String {
        var request = HTTPClientRequest(url: configuration.oauthBase + "/oauth/token")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        var form = URLComponents()
        form.queryItems = [
            .init(name: "grant_type", value: "authorization_code"),
            .init(name: "client_id", value: configuration.clientID),
            .init(name: "client_secret", value: configuration.clientSecret),
            .init(name: "redirect_uri", value: redirectURI),
            .init(name: "code_verifier", value: verifier), .init(name: "code", value: code),
        ]
        // `URLComponents` leaves `+` alone; in a form it means a space, so encode it.
        let encoded = (form.percentEncodedQuery ?? "").replacingOccurrences(of: "+", with: "%2B")
        request.body = .bytes(ByteBuffer(string: encoded))
        struct Token: Decodable { var accessToken: String }
        let answer = try await execute(request)
        guard answer.status == 200, let token = try? Self.decoder.decode(Token.self, from: Data(answer.body.utf8))
        else { throw KickError(.api, "Kick refused the authorization code (\(answer.status))") }
        return token.accessToken
    }

    /// `GET /public/v1/users` with a viewer's token: who they are on Kick.
    ///
    /// - Throws: ``KickError`` `api` when Kick refuses the token or answers something else.
    public func currentUser(accessToken: String) async throws -> (id: UInt64, name: String) {
        var request = HTTPClientRequest(url: configuration.apiBase + "/public/v1/users")
        request.headers.add(name: "Authorization", value: "Bearer \(accessToken)")
        struct Users: Decodable {
            struct User: Decodable {
                var userId: UInt64
                var name: String
            }
            var data: [User]
        }
        let answer = try await execute(request)
        guard answer.status == 200, let users = try? Self.decoder.decode(Users.self, from: Data(answer.body.utf8)),
            let user = users.data.first
        else { throw KickError(.api, "Kick did not say who the token belongs to (\(answer.status))") }
        return (user.userId, user.name)
    }

    private func post(_ path: String, json: some Encodable) async throws -> Answer {
        var request = HTTPClientRequest(url: configuration.apiBase + path)
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(configuration.botToken)")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: try Self.encoder.encode(json)))
        return try await execute(request)
    }

    private func execute(_ request: HTTPClientRequest) async throws -> Answer {
        let response = try await client.execute(request, timeout: .seconds(timeout.components.seconds))
        let body = try await response.body.collect(upTo: 1 << 20)
        let retryAfter = response.headers.first(name: "Retry-After").flatMap(Double.init).map {
            Duration.milliseconds(Int64(($0 * 1000).rounded()))
        }
        return Answer(status: Int(response.status.code), retryAfter: retryAfter, body: String(buffer: body))
    }
}
