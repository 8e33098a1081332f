public import Coordinator
import Domain
public import EventLog
import Foundation
public import Hummingbird
import Metrics
import Projections

/// The HTTP API of a shard node: commands and queries per guild, health. See `docs/openapi.yaml`.
///
/// Every answer is a typed ``Hummingbird/ResponseEncodable`` (see `Responses/`); every error an
/// ``APIError``, whose code decides the status.
public struct ShardAPI: Sendable {
    /// Which node serves a guild (one node, or a local cluster of several).
    public let nodes: any NodeRouter
    /// Commands, settings changes and the audit trail need `Authorization: Bearer <operatorToken>`
    /// (or a key of the guild, see ``keys``).
    public let operatorToken: String
    /// The per-guild API keys (nil: only the operator token is accepted).
    public var keys: GuildKeyStore?
    /// Checks the signature of requests other nodes forward. Default: a key of its own that no other
    /// node has, so every signed request is refused (a node no one forwards to).
    public var clusterAuthenticator = ClusterAuthenticator(key: .generate())
    /// The clock commands are stamped with.
    public let now: @Sendable () -> Timestamp
    /// The Prometheus text of every metric, for `GET /metrics` (nil: no such endpoint).
    public var metricsText: (@Sendable () -> String)?
    /// Forwards requests for partitions another shard owns (multi-process clusters; nil: serve all).
    public var forwarding: ForwardingMiddleware<BasicRequestContext>?
    /// Shards, leases, the assignment and epochs, for `GET /v1/cluster` (nil: no such endpoint).
    public var clusterView: (@Sendable () async -> ClusterView)?
    /// Kick's webhooks and the account-link flow (nil: no Kick app configured).
    public var kick: KickIngress?
    /// Discord's interactions (nil: no Discord app configured).
    public var discord: DiscordIngress?
    /// The OBS overlays (nil: none). Default nil.
    public var overlays: OverlayServer?
    /// What `/v1/admin/…` works on: online rebuilds, backups, status (nil: no such endpoints).
    public var operations: Operations?
    let metrics = CommandMetrics()

    /// The largest request body accepted (64 KiB).
    public static let maxBody = 64 * 1024

    public init(node: any NodeRouter, operatorToken: String, now: @escaping @Sendable () -> Timestamp) {
        self.nodes = node
        self.operatorToken = operatorToken
        self.now = now
    }

    /// A router serving every endpoint.
    public func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.middlewares.add(RequestIDMiddleware())
        router.middlewares.add(MetricsMiddleware())
        router.middlewares.add(ShardErrorMiddleware())
        // Checks forwarded requests; removes the cluster headers a client set (so no client's
        // X-Tally-Forwarded makes this node wait instead of forwarding).
        router.middlewares.add(
            ClusterAuthMiddleware(
                authenticator: clusterAuthenticator, maxBody: Self.maxBody,
                refuse: { error in
                    switch error.code {
                    case .unauthenticated: APIError(.clusterUnauthenticated, error.message)
                    case .badRequest: APIError(.bodyTooLarge, error.message)
                    default: APIError(.unavailable, error.message)
                    }
                }))
        let nodes = self.nodes
        router.get("/health") { _, _ in
            let damaged = await nodes.quarantined()
            return HealthResponse(
                status: damaged.isEmpty ? "ok" : "degraded", quarantined: damaged.isEmpty ? nil : damaged)
        }
        if let metricsText {
            router.get("/metrics") { _, _ in
                Response(
                    status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                    body: .init(byteBuffer: ByteBuffer(string: metricsText())))
            }
        }
        if let clusterView {
            router.get("/v1/cluster") { _, _ in await clusterView() }
        }
        kick?.register(on: router)
        discord?.register(on: router)
        overlays?.register(on: router)
        let guilds = router.group("/v1/guilds/:guild")
        if let forwarding { guilds.add(middleware: forwarding) }
        guilds.post("/commands") { request, context in try await command(request, context) }
        guilds.post("/commands/batch") { request, context in try await commandBatch(request, context) }
        guilds.get("/leaderboards/:kind") { request, context in try await leaderboard(request, context) }
        guilds.get("/people/:person") { _, context in try await person(context) }
        guilds.get("/raffle") { _, context in try await raffle(context) }
        guilds.get("/raffle/draws/:draw") { _, context in try await draw(context) }
        guilds.get("/raffle/periods/:period") { _, context in try await rafflePeriod(context) }
        guilds.get("/audit") { request, context in try await audit(request, context) }
        guilds.get("/settings") { _, context in try await settings(context) }
        guilds.put("/settings") { request, context in try await putSettings(request, context) }
        var routes: [(String, [HTTPRequest.Method])] = [
            ("/health", [.get]), ("/v1/guilds/:guild/commands", [.post]),
            ("/v1/guilds/:guild/commands/batch", [.post]),
            ("/v1/guilds/:guild/leaderboards/:kind", [.get]),
            ("/v1/guilds/:guild/people/:person", [.get]), ("/v1/guilds/:guild/raffle", [.get]),
            ("/v1/guilds/:guild/raffle/draws/:draw", [.get]), ("/v1/guilds/:guild/raffle/periods/:period", [.get]),
            ("/v1/guilds/:guild/audit", [.get]), ("/v1/guilds/:guild/settings", [.get, .put]),
        ]
        routes += registerAdmin(on: router)
        if metricsText != nil { routes.append(("/metrics", [.get])) }
        if clusterView != nil { routes.append(("/v1/cluster", [.get])) }
        if overlays != nil { routes += [("/overlay/:guild/:kind", [.get]), ("/overlay/:guild/:kind/events", [.get])] }
        if kick != nil {
            routes += [("/v1/kick/webhook", [.post]), ("/v1/link/start", [.get]), ("/v1/link/callback", [.get])]
        }
        if discord != nil { routes.append(("/v1/discord/interactions", [.post])) }
        MethodNotAllowed.register(routes, on: router)
        return router
    }

    // MARK: Commands

    func command(_ request: Request, _ context: BasicRequestContext) async throws -> CommandResponse {
        let guild = try guildID(context)
        try authorizer.requireAccess(request, to: guild)
        let body = try await Self.body(of: request)
        let parsed = try CommandRequest.decode(body).get()
        guard !parsed.key.isEmpty, parsed.key.utf8.count <= 200 else {
            throw APIError(.invalidKey, "key must be 1 to 200 bytes")
        }
        let time = now()
        let node = await node(guild)
        let outcome: PartitionOwner.Outcome
        let started = ContinuousClock.now
        do {
            // Only raffle commands need the period's seeds (and so a look at the guild's state).
            let seeds = parsed.needsRaffleSeeds ? try await node.raffleSeeds(for: guild) : .none
            let slotSeeds = parsed.needsSlotSeeds ? try await node.slotSeeds(for: guild) : .none
            let command = try parsed.command(now: time, seeds: seeds, slotSeeds: slotSeeds)
            outcome = try await node.handle(
                command, guild: guild, context: CommandContext(key: parsed.key, time: time, origin: .operator))
        } catch let rejection as Rejection {
            metrics.rejected.increment()
            throw APIError(rejection)
        } catch let error as ShardError {
            metrics.unavailable.increment()
            throw APIError(error)
        }
        (outcome.duplicate ? metrics.duplicate : metrics.accepted).increment()
        if !outcome.duplicate { metrics.eventsAppended.increment(by: outcome.events.count) }
        metrics.duration.record(duration: started.duration(to: .now))
        return CommandResponse(
            duplicate: outcome.duplicate,
            events: outcome.events.map { e in
                CommandResponse.Event(
                    offset: e.offset.rawValue, sequence: e.sequence, type: EventCodec.info(e.event).name,
                    timestamp: e.timestamp.rawValue)
            })
    }

    /// Who may do what (the operator token, the guild keys).
    var authorizer: Authorizer { Authorizer(operatorToken: operatorToken, keys: keys) }

    /// A path parameter, percent-decoded (`kick%3A4242001` is `kick:4242001`).
    static func parameter(_ context: BasicRequestContext, _ name: String) throws -> String {
        let raw = try context.parameters.require(name)
        return raw.removingPercentEncoding ?? raw
    }

    // MARK: Queries

    func leaderboard(_ request: Request, _ context: BasicRequestContext) async throws -> LeaderboardResponse {
        let guild = try guildID(context)
        guard let kind = LeaderboardKind(rawValue: try Self.parameter(context, "kind")) else {
            throw APIError(.unknownLeaderboard, "leaderboards are points, watchtime and tickets")
        }
        let store = try await knownGuild(guild)
        let settings = try await node(guild).owner(for: guild).state(of: guild)?.settings ?? GuildSettings()
        let limit: Int
        if let text = request.uri.queryParameters["limit"] {
            // 1 to 25 is valid anywhere; a guild's smaller leaderboard_max caps it.
            guard let n = Int(text), n >= 1, n <= Int(SettingKey.leaderboardMax.validRange.upperBound) else {
                throw APIError(.invalidLimit, "limit is 1 to \(SettingKey.leaderboardMax.validRange.upperBound)")
            }
            limit = min(n, Int(settings[.leaderboardMax]))
        } else {
            limit = Int(settings[.leaderboardDefault])
        }
        return LeaderboardResponse(
            kind: kind.rawValue, entries: try store.leaderboard(kind, guild: guild, limit: limit))
    }

    func person(_ context: BasicRequestContext) async throws -> PersonResponse {
        let guild = try guildID(context)
        let id = try Self.person(try Self.parameter(context, "person"))
        let store = try await knownGuild(guild)
        guard let summary = try store.person(id, guild: guild) else {
            throw APIError(.unknownPerson, "\(id) has nothing in guild \(guild)")
        }
        return PersonResponse(summary: summary)
    }

    func raffle(_ context: BasicRequestContext) async throws -> RaffleResponse {
        let guild = try guildID(context)
        return RaffleResponse(summary: try await knownGuild(guild).raffle(guild: guild))
    }

    func draw(_ context: BasicRequestContext) async throws -> DrawResponse {
        let guild = try guildID(context)
        let text = try Self.parameter(context, "draw")
        let parts = text.split(separator: ":")
        guard parts.count == 2, let period = UInt32(parts[0]), let number = UInt32(parts[1]) else {
            throw APIError(.invalidDraw, "a draw is PERIOD:NUMBER, for example 1:1")
        }
        _ = try await knownGuild(guild)
        let history = try await node(guild).history(for: guild)
        let v: RaffleVerification
        do {
            // A scan of the guild's history blocks: on the I/O pool, not a cooperative thread.
            v = try await BlockingIOPool.shared.run {
                try history.verifyDraw(guild: guild, period: PeriodID(period), number: number)
            }
        } catch let e
            as ProjectionsError
            where e.code == .notFound
        {
            throw APIError(.unknownDraw, e.message)
        }
        let hex = { (b: [UInt8]) in b.map { String(format: "%02x", $0) }.joined() }
        return DrawResponse(
            period: period, number: number, winner: v.announced.winner.description,
            winningTicket: v.announced.winningTicket, totalTickets: v.announced.totalTickets,
            participants: v.announced.participants, seed: hex(v.announced.seed), seedCommitment: hex(v.commitment),
            participantsDigest: hex(v.announced.participantsDigest), verified: v.matches,
            beaconRound: v.announced.beaconRound, beacon: hex(v.announced.beacon),
            replaces: v.announced.replaces == 0 ? nil : v.announced.replaces, reason: v.announced.reason)
    }

    /// The audit trail holds moderation reasons: it needs the operator token or the guild's key.
    func audit(_ request: Request, _ context: BasicRequestContext) async throws -> AuditResponse {
        let guild = try guildID(context)
        try authorizer.requireAccess(request, to: guild)
        let q = request.uri.queryParameters
        let person = try q["user"].map { try Self.person(String($0)) }
        let limit =
            try q["limit"].map { text -> Int in
                guard let n = Int(text), (1...1000).contains(n) else {
                    throw APIError(.invalidLimit, "limit is 1 to 1000")
                }
                return n
            } ?? 100
        let before = try q["before"].map { text -> Offset in
            guard let n = UInt64(text) else { throw APIError(.invalidOffset, "before is an offset") }
            return Offset(n)
        }
        _ = try await knownGuild(guild)
        // Folded on the I/O pool from the partition's audit checkpoints, not from the guild's start.
        let page = try await node(guild).auditPage(guild: guild, person: person, before: before, limit: limit)
        return AuditResponse(entries: page.entries, nextBefore: page.nextBefore?.rawValue)
    }

    func settings(_ context: BasicRequestContext) async throws -> SettingsResponse {
        let guild = try guildID(context)
        let state = try await node(guild).owner(for: guild).state(of: guild)
        guard let state else { throw APIError(.unknownGuild, "guild \(guild) has no history") }
        var values: [String: Int64] = [:]
        for key in SettingKey.allCases { values[key.description] = state.settings[key] }
        return SettingsResponse(
            settings: values, overrides: state.settings.overrides.keys.map(\.description).sorted(),
            live: .init(
                live: state.tracking == .forcedOn || (state.tracking == .automatic && state.isLive),
                source: state.liveSource))
    }

    /// `PUT /settings`: `{"key": "...", "settings": {"name": value or null}}`; null clears an override.
    /// Every name and value is checked before any is applied.
    func putSettings(_ request: Request, _ context: BasicRequestContext) async throws -> SettingsResponse {
        let guild = try guildID(context)
        try authorizer.requireAccess(request, to: guild)
        let body = try await Self.body(of: request)
        let parsed: SettingsChange
        do { parsed = try JSONDecoder().decode(SettingsChange.self, from: Data(buffer: body)) } catch {
            throw APIError(
                .malformedJSON,
                "the body is {\"key\": \"...\", \"settings\": {\"name\": integer or null}}: \(Self.describe(error))")
        }
        // Each change is its own command keyed "<key>:<setting>"; 170 bytes leave room for every
        // setting's name within the 200-byte key limit.
        guard !parsed.key.isEmpty, parsed.key.utf8.count <= SettingsChange.maxKeyBytes else {
            throw APIError(.invalidKey, "key must be 1 to \(SettingsChange.maxKeyBytes) bytes")
        }
        guard !parsed.settings.isEmpty else { throw APIError(.missingField, "settings names at least one setting") }
        var changes: [(SettingKey, Int64?)] = []
        for (name, value) in parsed.settings.sorted(by: { $0.key < $1.key }) {
            guard let setting = SettingKey(name: name) else {
                throw APIError(.unknownSetting, "no setting named \(name)")
            }
            if let value, !setting.validRange.contains(value) {
                throw APIError(.invalidValue, "\(name) must be within \(setting.validRange), not \(value)")
            }
            changes.append((setting, value))
        }
        let key = parsed.key
        let time = now()
        for (setting, value) in changes {
            do {
                _ = try await node(guild).handle(
                    .setSetting(setting, value), guild: guild,
                    context: CommandContext(key: "\(key):\(setting)", time: time, origin: .operator))
            } catch let rejection as Rejection {
                throw APIError(rejection)
            }
        }
        return try await settings(context)
    }

    // MARK: Helpers

    private func node(_ guild: GuildID) async -> ShardNode { await nodes.node(for: guild) }

    func guildID(_ context: BasicRequestContext) throws -> GuildID {
        let text = try Self.parameter(context, "guild")
        guard let v = Snowflake.parse(text) else {
            throw APIError(.invalidSnowflake, "the guild must be a Discord snowflake, not \(text)")
        }
        return GuildID(v)
    }

    private func knownGuild(_ guild: GuildID) async throws -> ReadModelStore {
        let store = try await node(guild).readModels(for: guild)
        guard try store.knowsGuild(guild) else {
            throw APIError(.unknownGuild, "guild \(guild) has no history")
        }
        return store
    }

    /// The request's body, at most ``maxBody`` bytes.
    static func body(of request: Request) async throws -> ByteBuffer {
        var request = request
        do { return try await request.collectBody(upTo: maxBody) } catch {
            throw APIError(.bodyTooLarge, "request bodies are limited to \(maxBody) bytes")
        }
    }

    /// A person as the API spells one: a snowflake, `discord:<snowflake>` or `kick:<id>`.
    static func person(_ text: String) throws -> PersonID {
        if text.hasPrefix("kick:"), let id = Snowflake.parse(String(text.dropFirst(5))) { return .kick(KickUserID(id)) }
        // An imported chatter whose Kick id is not known yet (docs/decisions/0009-legacy-import-events.md).
        if text.hasPrefix("kick_name:") {
            let name = text.utf8.dropFirst(10)
            guard (1...64).contains(name.count),
                name.allSatisfy({ $0 == 0x5F || ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) })
            else {
                throw APIError(.invalidPerson, "kick_name: is followed by 1 to 64 lower-case letters, digits or _")
            }
            return .kickName(String(decoding: name, as: UTF8.self))
        }
        let digits = text.hasPrefix("discord:") ? String(text.dropFirst(8)) : text
        guard let id = Snowflake.parse(digits) else {
            throw APIError(
                .invalidPerson,
                "a person is a Discord snowflake, discord:ID, kick:ID or kick_name:NAME, not \(text)")
        }
        return .discord(UserID(id))
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): "missing field \(key.stringValue)"
        case DecodingError.typeMismatch(_, let c), DecodingError.valueNotFound(_, let c):
            "wrong type at \(c.codingPath.map(\.stringValue).joined(separator: "."))"
        case DecodingError.dataCorrupted(let c): c.debugDescription
        default: "unreadable JSON"
        }
    }
}

/// The body of `PUT /settings`.
struct SettingsChange: Decodable {
    /// The longest key: with ":" and the longest setting name it stays within the 200-byte key limit.
    static let maxKeyBytes = 170
    var key: String
    var settings: [String: Int64?]
}
