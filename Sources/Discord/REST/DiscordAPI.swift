public import AsyncHTTPClient
public import Foundation
import NIOCore
import NIOHTTP1

/// Discord's REST API as Tally uses it: role grants and removals, channel messages (with `nonce` and
/// `enforce_nonce`), the original response of an interaction, and command registration. Every request
/// waits for the shared ``DiscordRateLimiter`` and teaches it the answer's rate-limit headers.
public struct DiscordAPI: Sendable {
    public let configuration: DiscordConfiguration
    public let client: HTTPClient
    public let limiter: DiscordRateLimiter

    public init(configuration: DiscordConfiguration, client: HTTPClient, limiter: DiscordRateLimiter? = nil) {
        self.configuration = configuration
        self.client = client
        self.limiter = limiter ?? DiscordRateLimiter(globalPerSecond: configuration.globalRequestsPerSecond)
    }

    /// What Discord answered.
    public struct Answer: Sendable {
        public var status: Int
        public var body: String
        public var limits: RateLimitState.Headers
        /// Discord's JSON error code (`50013` missing permissions …), when the body has one.
        public var code: Int?

        /// How long Discord asked to wait (429).
        public var retryAfter: Duration? {
            limits.retryAfter.map { RateLimitState.milliseconds($0) }
        }
    }

    /// `PUT` (grant) or `DELETE` (remove) `/guilds/{guild}/members/{user}/roles/{role}`.
    public func setRole(guild: UInt64, user: UInt64, role: UInt64, granted: Bool, reason: String? = nil) async throws
        -> Answer
    {
        try await send(
            granted ? .PUT : .DELETE, "/guilds/\(guild)/members/\(user)/roles/\(role)",
            route: "/guilds/{guild}/members/{user}/roles/{role}", major: "guild:\(guild)", body: nil, reason: reason)
    }

    /// `POST /channels/{channel}/messages` with a `nonce` Discord enforces: a resend returns the first
    /// message instead of posting again.
    public func createMessage(channel: UInt64, content: String, nonce: String) async throws -> Answer {
        let body: [String: Any] = [
            "content": String(content.prefix(2000)), "nonce": String(nonce.prefix(25)), "enforce_nonce": true,
            "allowed_mentions": ["parse": [String]()],
        ]
        return try await send(
            .POST, "/channels/\(channel)/messages", route: "/channels/{channel}/messages", major: "channel:\(channel)",
            body: try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys]), reason: nil)
    }

    /// `PATCH /webhooks/{application}/{token}/messages/@original` with `body`, a message's JSON
    /// (content, components, allowed mentions): finishes a deferred interaction.
    public func editOriginal(token: String, body: Data) async throws -> Answer {
        try await send(
            .PATCH, "/webhooks/\(configuration.applicationID)/\(token)/messages/@original",
            route: "/webhooks/{application}/{token}/messages/@original", major: "webhook:\(token)", body: body,
            reason: nil)
    }

    /// Replaces the app's commands (globally, or in one guild) with `commands` (bulk overwrite).
    public func registerCommands(_ commands: [SlashCommand], guild: UInt64? = nil) async throws -> Answer {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let app = configuration.applicationID
        let path = guild.map { "/applications/\(app)/guilds/\($0)/commands" } ?? "/applications/\(app)/commands"
        return try await send(
            .PUT, path,
            route: guild == nil ? "/applications/{app}/commands" : "/applications/{app}/guilds/{g}/commands",
            major: guild.map { "guild:\($0)" } ?? "app", body: try encoder.encode(commands), reason: nil)
    }

    func send(
        _ method: HTTPMethod, _ path: String, route: String, major: String, body: Data?, reason: String?
    ) async throws -> Answer {
        let routeKey = "\(method.rawValue) \(route)"
        try await limiter.acquire(route: routeKey, major: major)
        var request = HTTPClientRequest(url: configuration.apiBase + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bot " + configuration.botToken)
        request.headers.add(name: "User-Agent", value: "DiscordBot (\(configuration.userAgentURL), 1.0)")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        if let reason, let encoded = reason.addingPercentEncoding(withAllowedCharacters: .alphanumerics) {
            request.headers.add(name: "X-Audit-Log-Reason", value: String(encoded.prefix(512)))
        }
        let response = try await client.execute(request, timeout: .seconds(15))
        let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
        let h = response.headers
        var limits = RateLimitState.Headers(
            status: Int(response.status.code), bucket: h.first(name: "X-RateLimit-Bucket"),
            remaining: h.first(name: "X-RateLimit-Remaining").flatMap { Int($0) },
            resetAfter: h.first(name: "X-RateLimit-Reset-After").flatMap { Double($0) },
            retryAfter: h.first(name: "Retry-After").flatMap { Double($0) },
            global: h.first(name: "X-RateLimit-Global") == "true", scope: h.first(name: "X-RateLimit-Scope"))
        var code: Int?
        if response.status.code >= 400, let object = Self.object(text) {
            code = object["code"] as? Int
            if let retry = object["retry_after"] as? Double { limits.retryAfter = retry }
            if object["global"] as? Bool == true { limits.global = true }
        }
        limiter.record(route: routeKey, major: major, limits)
        return Answer(status: limits.status, body: text, limits: limits, code: code)
    }

    static func object(_ text: String) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
    }
}
