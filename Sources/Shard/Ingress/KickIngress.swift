public import AsyncHTTPClient
import Domain
public import EventLog
import Foundation
import HTTPTypes
public import Hummingbird
public import Kick
public import Logging
import Metrics

/// Kick's way in: signed webhooks (`POST /v1/kick/webhook`) and the account-link flow
/// (`GET /v1/link/start`, `GET /v1/link/callback`, OAuth 2.1 with PKCE).
///
/// A webhook is verified before anything of it is parsed, routed by broadcaster to the guilds
/// connected to that channel, and turned into ordinary commands keyed by Kick's message id, so a
/// retry — also after a restart — is a duplicate. It is acknowledged once its commands are durable.
public struct KickIngress: Sendable {
    public let verifier: KickWebhookVerifier
    public let api: KickAPI
    public let nodes: any NodeRouter
    /// Signs and checks link tokens.
    public let linkKey: [UInt8]
    /// The service's public base URL (Kick redirects viewers back to `<base>/v1/link/callback`).
    public let publicBaseURL: String
    public let now: @Sendable () -> Timestamp
    let logger: Logger
    /// In a multi-process cluster: sends a verified webhook to every other shard owning partitions
    /// (each routes it to the guilds it holds, verifying it again) and returns their answers. Nil
    /// when this process holds every partition.
    public var fanOut: (@Sendable (Request) async throws -> [ForwardingMiddleware<BasicRequestContext>.Answer])?
    /// In a multi-process cluster: sends a link step for a guild another shard owns there (nil when
    /// this node serves it, or when this process serves every guild).
    public var forward: (@Sendable (GuildID, Request) async throws -> Response?)?
    let verificationFailures = Counter(
        label: "tally_webhook_verification_failures_total", dimensions: [("platform", "kick")])
    let accepted = Counter(label: "tally_webhooks_total", dimensions: [("platform", "kick"), ("outcome", "accepted")])
    let duplicates = Counter(
        label: "tally_webhooks_total", dimensions: [("platform", "kick"), ("outcome", "duplicate")])
    let droppedUnconnected = Counter(
        label: "tally_webhooks_dropped_total", dimensions: [("platform", "kick"), ("reason", "unconnected_channel")])
    let droppedUnknown = Counter(
        label: "tally_webhooks_dropped_total", dimensions: [("platform", "kick"), ("reason", "unknown_event_type")])

    public init(
        configuration: KickConfiguration, client: HTTPClient, nodes: any NodeRouter, linkKey: [UInt8],
        publicBaseURL: String, now: @escaping @Sendable () -> Timestamp, logger: Logger
    ) throws {
        verifier = try KickWebhookVerifier(publicKeyPEM: configuration.webhookPublicKeyPEM)
        api = KickAPI(configuration: configuration, client: client)
        self.nodes = nodes
        self.linkKey = linkKey
        self.publicBaseURL = publicBaseURL
        self.now = now
        self.logger = logger
    }

    /// Adds the routes to `router`.
    public func register(on router: Router<BasicRequestContext>) {
        router.post("/v1/kick/webhook") { request, _ in try await webhook(request) }
        router.get("/v1/link/start") { request, _ in try await start(request) }
        router.get("/v1/link/callback") { request, _ in try await callback(request) }
    }

    /// What the webhook endpoint answers.
    public struct WebhookResponse: ResponseEncodable, Sendable {
        /// Whether every command it became had been seen before (a retry).
        public var duplicate: Bool
        /// The guilds it reached (none: an unconnected channel or an event type Tally does not read).
        public var guilds: [String]
    }

    // MARK: Webhooks

    func webhook(_ request: Request) async throws -> WebhookResponse {
        var request = request
        let body: ByteBuffer
        do { body = try await request.collectBody(upTo: 64 * 1024) } catch {
            throw APIError(.bodyTooLarge, "webhook bodies are limited to 64 KiB")
        }
        let bytes = Data(buffer: body)
        let headers = KickWebhookVerifier.SignedHeaders(
            messageID: request.headers[Self.header("Kick-Event-Message-Id")],
            timestamp: request.headers[Self.header("Kick-Event-Message-Timestamp")],
            signature: request.headers[Self.header("Kick-Event-Signature")])
        let messageID: String
        do { messageID = try verifier.verify(headers, body: bytes, now: now().rawValue) } catch let error as KickError {
            verificationFailures.increment()
            throw APIError(.unauthorized, "the webhook does not verify: \(error.message)", underlying: error)
        }
        let type = request.headers[Self.header("Kick-Event-Type")] ?? ""
        let event: KickWebhookEvent
        do { event = try KickWebhookEvent(type: type, body: bytes) } catch let error as KickError {
            throw APIError(.malformedJSON, error.message, underlying: error)
        }
        guard let broadcaster = event.broadcaster?.userID else {
            droppedUnknown.increment()
            return WebhookResponse(duplicate: false, guilds: [])
        }
        // Right after a start the partitions are still being acquired: an empty answer then would
        // drop a webhook for good. Wait (bounded) and let Kick retry if it takes too long.
        let nodes = self.nodes
        let routable = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await nodes.waitUntilRoutable()
                return true
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(10))
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
        guard routable else { throw APIError(.unavailable, "the service is still starting; retry") }
        // The other shards route it to the guilds they hold, while this one does its own.
        async let remote = Self.answers(of: request, from: fanOut)
        let local = try await route(event, broadcaster: KickUserID(broadcaster), messageID: messageID)
        let others = try await remote
        let guilds = (local.guilds + others.flatMap(\.guilds)).sorted()
        guard !guilds.isEmpty else {
            droppedUnconnected.increment()
            logger.notice(
                "webhook for an unconnected Kick channel dropped", metadata: ["broadcaster": "\(broadcaster)"])
            return WebhookResponse(duplicate: false, guilds: [])
        }
        let allDuplicates = (local.guilds.isEmpty || local.duplicate) && others.allSatisfy(\.duplicate)
        (allDuplicates ? duplicates : accepted).increment()
        return WebhookResponse(duplicate: allDuplicates, guilds: guilds)
    }

    /// The webhook answers of the other shards; any but a 200 fails the webhook (Kick retries it,
    /// and what a shard already took is a duplicate there).
    static func answers(
        of request: Request,
        from fanOut: (@Sendable (Request) async throws -> [ForwardingMiddleware<BasicRequestContext>.Answer])?
    ) async throws -> [WebhookResponse] {
        guard let fanOut else { return [] }
        var answers: [WebhookResponse] = []
        for answer in try await fanOut(request) {
            guard answer.status == 200,
                let object = try? JSONSerialization.jsonObject(with: Data(buffer: answer.body)) as? [String: Any]
            else {
                throw APIError(.unavailable, "a shard could not take the webhook (\(answer.status)); retry")
            }
            answers.append(
                WebhookResponse(
                    duplicate: object["duplicate"] as? Bool ?? false, guilds: object["guilds"] as? [String] ?? []))
        }
        return answers
    }

    /// Turns a verified event into commands for the guilds this process holds that are connected
    /// to `broadcaster`, and returns once they are durable.
    func route(_ event: KickWebhookEvent, broadcaster: KickUserID, messageID: String) async throws
        -> WebhookResponse
    {
        let guilds = await nodes.guilds(connectedTo: broadcaster)
        var allDuplicates = true
        for guild in guilds {
            let commands = Self.commands(for: event, messageID: messageID, now: now())
            guard !commands.isEmpty else { continue }
            // The webhook's commands for one guild go through the batch path: one append, one fsync.
            let outcomes: [Result<PartitionOwner.Outcome, Rejection>]
            do { outcomes = try await nodes.node(for: guild).handleBatch(commands, guild: guild) } catch let error
                as ShardError
            {
                throw APIError(error)
            }
            for ((_, context), outcome) in zip(commands, outcomes) {
                switch outcome {
                case .success(let outcome): allDuplicates = allDuplicates && outcome.duplicate
                case .failure(let rejection):
                    // Acknowledged all the same: Kick retrying a refused event would be refused forever.
                    allDuplicates = false
                    logger.warning(
                        "webhook command refused",
                        metadata: [
                            "guild": "\(guild)", "key": "\(context.key)", "code": "\(rejection.code)",
                            "message": "\(rejection.message)",
                        ])
                }
            }
        }
        return WebhookResponse(duplicate: allDuplicates, guilds: guilds.map(\.description))
    }

    /// The commands a verified event becomes, each with its context: Kick's message id as the key
    /// (a second command of the same delivery gets an internal key derived from it), Kick as the actor,
    /// and the content the rules recognise a redelivery under a new id by (sender, giftees, times).
    static func commands(for event: KickWebhookEvent, messageID: String, now: Timestamp)
        -> [(Command, CommandContext)]
    {
        let context = CommandContext(key: messageID, time: now, origin: .kick)
        switch event {
        case .chatMessage(_, let sender, let chatMessageID, let content, _):
            guard let id = sender.userID, let name = sender.username, !name.isEmpty else { return [] }
            var commands: [(Command, CommandContext)] = [(.recordChatActivity(KickUserID(id), username: name), context)]
            if content.hasPrefix("!") {
                var second = CommandContext.internal("kick-chat-command:" + messageID, time: now)
                second.origin = .kick
                commands.append(
                    (
                        .answerChatCommand(KickUserID(id), username: name, message: content, messageID: chatMessageID),
                        second
                    ))
            }
            return commands
        case .streamStatus(_, let isLive, let at):
            return [(.setStreamStatus(live: isLive, at: at.map(Timestamp.init(milliseconds:))), context)]
        case .subscription(_, let subscriber, _, let createdAt, let expiresAt):
            guard let id = subscriber.userID else { return [] }
            let expiry = expiresAt ?? (createdAt ?? now.rawValue) + 30 * 86_400_000
            let command = Command.recordSubscription(
                KickUserID(id), expiresAt: Timestamp(milliseconds: expiry),
                createdAt: createdAt.map(Timestamp.init(milliseconds:)))
            return [(command, context)]
        case .gifts(_, let gifter, let giftees, let createdAt, _):
            guard !giftees.isEmpty else { return [] }
            // An anonymous gifter earns nothing (the rules say so).
            let from = gifter.isAnonymous ? nil : gifter.userID.map(KickUserID.init(rawValue:))
            let ids = giftees.compactMap { $0.userID.map(KickUserID.init(rawValue:)) }
            let command = Command.recordGiftedSubs(
                gifter: from, username: gifter.username ?? "", count: Int64(giftees.count),
                giftees: ids.count == giftees.count ? ids : [], createdAt: createdAt.map(Timestamp.init(milliseconds:)))
            return [(command, context)]
        case .other:
            return []
        }
    }

    static func header(_ name: String) -> HTTPField.Name { HTTPField.Name(name)! }

    /// A context for a link step: an internal key (the state is the service's own), the viewer as actor.
    static func linkStep(_ name: String, time: Timestamp, user: UserID) -> CommandContext {
        var context = CommandContext.internal(name, time: time)
        context.actor = user
        context.origin = .discord(user)
        return context
    }

    // MARK: Account links

    func start(_ request: Request) async throws -> Response {
        let time = now()
        guard let text = request.uri.queryParameters["token"].map(String.init),
            let token = LinkToken(verifying: text, key: linkKey, now: time.rawValue)
        else {
            return LinkPage.answer(
                .badRequest, title: "This link does not work",
                text: "It is invalid or has expired. Use /link in Discord to get a new one.")
        }
        let guild = GuildID(token.guild)
        if let forward, let answer = try await forward(guild, request) { return answer }
        var random = SystemRandomNumberGenerator()
        let state = "\(token.guild)." + PKCE.base64url((0..<16).map { _ in UInt8.random(in: 0...255, using: &random) })
        let verifier = PKCE.makeVerifier()
        do {
            _ = try await nodes.node(for: guild).handle(
                .startKickAuthorization(
                    UserID(token.user), state: state, verifier: verifier,
                    expiresAt: Timestamp(milliseconds: min(token.expiresAt, time.rawValue + 600_000))),
                guild: guild,
                context: Self.linkStep("kick-link-start:" + state, time: time, user: UserID(token.user)))
        } catch let rejection as Rejection {
            return LinkPage.answer(.badRequest, title: "This link does not work", text: rejection.message)
        }
        let url = api.authorizeURL(
            redirectURI: publicBaseURL + "/v1/link/callback", state: state, challenge: PKCE.challenge(for: verifier))
        return Response(status: .found, headers: [.location: url])
    }

    func callback(_ request: Request) async throws -> Response {
        let q = request.uri.queryParameters
        guard let state = q["state"].map(String.init), state.utf8.count <= 128,
            let guildText = state.split(separator: ".").first, let guildValue = UInt64(guildText)
        else {
            return LinkPage.answer(
                .badRequest, title: "Nothing was linked",
                text: "This page was opened without a link request. Use /link in Discord to start.")
        }
        let guild = GuildID(guildValue)
        if let forward, let answer = try await forward(guild, request) { return answer }
        let node = await nodes.node(for: guild)
        let time = now()
        guard let authorization = try await node.owner(for: guild).state(of: guild)?.kickAuthorizations[state] else {
            return LinkPage.answer(
                .badRequest, title: "Nothing was linked",
                text: "This link was already used or never started. Use /link in Discord to start again.")
        }
        // Used up now, whatever follows: a replayed callback finds nothing.
        do {
            let finished = try await node.handle(
                .finishKickAuthorization(state: state), guild: guild,
                context: Self.linkStep("kick-link-finish:" + state, time: time, user: authorization.user))
            guard !finished.duplicate else {
                return LinkPage.answer(
                    .badRequest, title: "Nothing was linked",
                    text: "This link was already used. Use /link in Discord to start again.")
            }
        } catch let rejection as Rejection {
            return LinkPage.answer(.badRequest, title: "Nothing was linked", text: rejection.message)
        }
        guard let code = q["code"].map(String.init), !code.isEmpty else {
            return LinkPage.answer(
                .badRequest, title: "Nothing was linked",
                text: "Kick did not authorize the link. Use /link in Discord to try again.")
        }
        let kickUser: (id: UInt64, name: String)
        do {
            let token = try await api.exchangeCode(
                code, verifier: authorization.verifier, redirectURI: publicBaseURL + "/v1/link/callback")
            kickUser = try await api.currentUser(accessToken: token)
        } catch {
            logger.warning("Kick link failed at Kick", metadata: ["guild": "\(guild)", "error": "\(error)"])
            return LinkPage.answer(
                .badGateway, title: "Nothing was linked",
                text: "Kick did not confirm who you are. Use /link in Discord to try again.")
        }
        do {
            let outcome = try await node.handle(
                .confirmLink(authorization.user, KickUserID(kickUser.id), kickUsername: kickUser.name), guild: guild,
                context: Self.linkStep("kick-link-confirm:" + state, time: now(), user: authorization.user))
            if outcome.events.contains(where: { if case .linkRejected = $0.event { true } else { false } }) {
                return LinkPage.answer(
                    .conflict, title: "Already linked",
                    text: "The Kick account \(kickUser.name) is already linked to someone else in this server.")
            }
            return LinkPage.answer(
                .ok, title: "Linked",
                text:
                    "Your Kick account \(kickUser.name) is now linked to your Discord account. Your watch time and points are yours in Discord too."
            )
        } catch let rejection as Rejection {
            return LinkPage.answer(
                .badRequest, title: "Nothing was linked",
                text: rejection.message + ". Use /link in Discord to start again.")
        }
    }
}
