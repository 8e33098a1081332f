public import Domain
public import EventLog
import Foundation
public import Hummingbird
import Metrics
import Projections

/// The HTTP API of a shard node: commands and queries per guild, health. See `docs/openapi.yaml`.
public struct ShardAPI: Sendable {
    /// Which node serves a guild (one node, or a local cluster of several).
    public let nodes: any NodeRouter
    /// Commands need `Authorization: Bearer <operatorToken>`.
    public let operatorToken: String
    /// The deployment secret raffle seeds derive from.
    public let raffleSecret: [UInt8]
    /// The clock commands are stamped with.
    public let now: @Sendable () -> Timestamp
    /// The Prometheus text of every metric, for `GET /metrics` (nil: no such endpoint).
    public var metricsText: (@Sendable () -> String)?
    /// Forwards requests for partitions another shard owns (multi-process clusters; nil: serve all).
    public var forwarding: ForwardingMiddleware<BasicRequestContext>?
    /// Shards, leases, the assignment and epochs, for `GET /v1/cluster` (nil: no such endpoint).
    public var clusterDescription: (@Sendable () async -> [String: any Sendable])?

    /// The largest request body accepted (64 KiB).
    public static let maxBody = 64 * 1024

    public init(node: any NodeRouter, operatorToken: String, raffleSecret: [UInt8], now: @escaping @Sendable () -> Timestamp) {
        self.nodes = node
        self.operatorToken = operatorToken
        self.raffleSecret = raffleSecret
        self.now = now
    }

    /// A router serving every endpoint.
    public func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.middlewares.add(MetricsMiddleware())
        router.get("/health") { _, _ in JSON(["status": "ok"]) }
        if let metricsText {
            router.get("/metrics") { _, _ in
                Response(
                    status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                    body: .init(byteBuffer: ByteBuffer(string: metricsText())))
            }
        }
        if let clusterDescription {
            router.get("/v1/cluster") { _, _ in JSON(await clusterDescription()) }
        }
        let guilds = router.group("/v1/guilds/:guild")
        if let forwarding { guilds.add(middleware: forwarding) }
        guilds.post("/commands") { request, context in try await command(request, context) }
        guilds.get("/leaderboards/:kind") { request, context in try await leaderboard(request, context) }
        guilds.get("/people/:person") { _, context in try await person(context) }
        guilds.get("/raffle") { _, context in try await raffle(context) }
        guilds.get("/raffle/draws/:draw") { _, context in try await draw(context) }
        guilds.get("/audit") { request, context in try await audit(request, context) }
        guilds.get("/settings") { _, context in try await settings(context) }
        guilds.put("/settings") { request, context in try await putSettings(request, context) }
        return router
    }

    // MARK: Commands

    func command(_ request: Request, _ context: BasicRequestContext) async throws -> JSON {
        try authorize(request)
        let guild = try guildID(context)
        let body = try await Self.body(of: request)
        let parsed: CommandRequest
        do { parsed = try JSONDecoder().decode(CommandRequest.self, from: Data(buffer: body)) } catch {
            throw APIError.badRequest("malformed_json", "the body is not a valid command: \(Self.describe(error))")
        }
        guard !parsed.key.isEmpty, parsed.key.utf8.count <= 200 else {
            throw APIError.badRequest("invalid_key", "key must be 1 to 200 bytes")
        }
        let time = now()
        // Only raffle commands need the period's seeds (and so a look at the guild's state).
        var seeds = RaffleSeeds(current: [], next: [])
        if ["open_raffle_period", "close_raffle_period", "draw_raffle"].contains(parsed.type) {
            let period = try await node(guild).owner(for: guild).state(of: guild)?.raffle.lastPeriod ?? PeriodID(0)
            seeds = RaffleSeeds(
                current: RaffleDrawing.seed(secret: raffleSecret, guild: guild, period: period),
                next: RaffleDrawing.seed(secret: raffleSecret, guild: guild, period: PeriodID(period.rawValue + 1)))
        }
        let command = try parsed.command(now: time, seeds: seeds)
        let outcome: PartitionOwner.Outcome
        let started = ContinuousClock.now
        do {
            outcome = try await node(guild).handle(command, guild: guild, context: CommandContext(key: parsed.key, time: time))
        } catch let rejection as Rejection {
            Counter(label: "tally_commands_total", dimensions: [("outcome", "rejected")]).increment()
            let status: HTTPResponse.Status = rejection.code.hasPrefix("invalid_") ? .badRequest : .conflict
            throw APIError(status, rejection.code, rejection.message)
        } catch let error as ShardError {
            Counter(label: "tally_commands_total", dimensions: [("outcome", "unavailable")]).increment()
            throw APIError(.serviceUnavailable, error.code.description, error.message)
        }
        Counter(label: "tally_commands_total", dimensions: [("outcome", outcome.duplicate ? "duplicate" : "accepted")]).increment()
        Counter(label: "tally_events_appended_total").increment(by: outcome.duplicate ? 0 : outcome.events.count)
        Metrics.Timer(label: "tally_command_duration_seconds").record(duration: started.duration(to: .now))
        return JSON([
            "duplicate": outcome.duplicate,
            "events": outcome.events.map { e in
                ["offset": e.offset.rawValue, "sequence": e.sequence, "type": EventCodec.info(e.event).name,
                 "timestamp": e.timestamp.rawValue] as [String: any Sendable]
            },
        ])
    }

    private func authorize(_ request: Request) throws {
        guard let header = request.headers[.authorization], header == "Bearer \(operatorToken)" else {
            throw APIError(.unauthorized, "unauthorized", "commands need Authorization: Bearer <operator token>")
        }
    }

    // MARK: Queries

    func leaderboard(_ request: Request, _ context: BasicRequestContext) async throws -> JSON {
        let guild = try guildID(context)
        guard let kind = LeaderboardKind(rawValue: try context.parameters.require("kind")) else {
            throw APIError(.notFound, "unknown_leaderboard", "leaderboards are points, watchtime and tickets")
        }
        let store = try await knownGuild(guild)
        let settings = try await node(guild).owner(for: guild).state(of: guild)?.settings ?? GuildSettings()
        let limit: Int
        if let text = request.uri.queryParameters["limit"] {
            guard let n = Int(text), n >= 1, n <= Int(settings[.leaderboardMax]) else {
                throw APIError.badRequest("invalid_limit", "limit is 1 to \(settings[.leaderboardMax])")
            }
            limit = n
        } else {
            limit = Int(settings[.leaderboardDefault])
        }
        let entries = try store.leaderboard(kind, guild: guild, limit: limit)
        return JSON([
            "kind": kind.rawValue,
            "entries": entries.map { ["rank": $0.rank, "person": $0.person, "name": $0.name, "value": $0.value] as [String: any Sendable] },
        ])
    }

    func person(_ context: BasicRequestContext) async throws -> JSON {
        let guild = try guildID(context)
        let id = try Self.person(try context.parameters.require("person"))
        let store = try await knownGuild(guild)
        guard let p = try store.person(id, guild: guild) else {
            throw APIError(.notFound, "unknown_person", "\(id) has nothing in guild \(guild)")
        }
        return JSON([
            "person": p.person, "name": p.name, "minutes": p.minutes, "points": p.points, "points_earned": p.pointsEarned,
            "tickets": p.tickets, "total_tickets": p.totalTickets, "points_rank": p.pointsRank,
            "watchtime_rank": p.watchtimeRank, "win_chance": p.winChance, "excluded": p.excluded,
        ])
    }

    func raffle(_ context: BasicRequestContext) async throws -> JSON {
        let guild = try guildID(context)
        let r = try await knownGuild(guild).raffle(guild: guild)
        func period(_ p: RaffleSummary.Period) -> [String: any Sendable] {
            ["id": p.id, "starts_at": p.startsAt, "ends_at": p.endsAt, "open": p.open, "seed_commitment": p.seedCommitment,
             "seed": p.seed as any Sendable]
        }
        return JSON([
            "current": r.current.map(period) as any Sendable, "total_tickets": r.totalTickets, "participants": r.participants,
            "periods": r.periods.map(period),
            "draws": r.draws.map { d in
                ["period": d.period, "number": d.number, "winner": d.winner, "winning_ticket": d.winningTicket,
                 "total_tickets": d.totalTickets] as [String: any Sendable]
            },
        ])
    }

    func draw(_ context: BasicRequestContext) async throws -> JSON {
        let guild = try guildID(context)
        let text = try context.parameters.require("draw")
        let parts = text.split(separator: ":")
        guard parts.count == 2, let period = UInt32(parts[0]), let number = UInt32(parts[1]) else {
            throw APIError.badRequest("invalid_draw", "a draw is PERIOD:NUMBER, for example 1:1")
        }
        _ = try await knownGuild(guild)
        let history = try await node(guild).history(for: guild)
        let v: RaffleVerification
        do { v = try history.verifyDraw(guild: guild, period: PeriodID(period), number: number) } catch let e as ProjectionsError
            where e.code == .notFound
        {
            throw APIError(.notFound, "unknown_draw", e.message)
        }
        let hex = { (b: [UInt8]) in b.map { String(format: "%02x", $0) }.joined() }
        return JSON([
            "period": period, "number": number, "winner": v.announced.winner.description,
            "winning_ticket": v.announced.winningTicket, "total_tickets": v.announced.totalTickets,
            "participants": v.announced.participants, "seed": hex(v.announced.seed), "seed_commitment": hex(v.commitment),
            "participants_digest": hex(v.announced.participantsDigest), "verified": v.matches,
        ])
    }

    func audit(_ request: Request, _ context: BasicRequestContext) async throws -> JSON {
        let guild = try guildID(context)
        let q = request.uri.queryParameters
        let person = try q["user"].map { try Self.person(String($0)) }
        let limit = try q["limit"].map { text -> Int in
            guard let n = Int(text), (1...1000).contains(n) else { throw APIError.badRequest("invalid_limit", "limit is 1 to 1000") }
            return n
        } ?? 100
        let before = try q["before"].map { text -> Offset in
            guard let n = UInt64(text) else { throw APIError.badRequest("invalid_offset", "before is an offset") }
            return Offset(n)
        }
        _ = try await knownGuild(guild)
        let history = try await node(guild).history(for: guild)
        let entries = try history.audit(guild: guild, person: person, until: before.map { .offset($0) }).suffix(limit)
        return JSON([
            "entries": entries.map { e in
                ["offset": e.offset.rawValue, "timestamp": e.timestamp.rawValue, "person": e.person.description, "event": e.event,
                 "reason": e.reason, "points_delta": e.pointsDelta, "tickets_delta": e.ticketsDelta, "minutes_delta": e.minutesDelta,
                 "points": e.points, "tickets": e.tickets, "minutes": e.minutes] as [String: any Sendable]
            },
        ])
    }

    func settings(_ context: BasicRequestContext) async throws -> JSON {
        let guild = try guildID(context)
        let state = try await node(guild).owner(for: guild).state(of: guild)
        guard let state else { throw APIError(.notFound, "unknown_guild", "guild \(guild) has no history") }
        var values: [String: any Sendable] = [:]
        for key in SettingKey.allCases { values[key.description] = state.settings[key] }
        return JSON(["settings": values, "overrides": Array(state.settings.overrides.keys.map(\.description)).sorted()])
    }

    /// `PUT /settings`: `{"key": "...", "settings": {"name": value or null}}`; null clears an override.
    /// Every name and value is checked before any is applied.
    func putSettings(_ request: Request, _ context: BasicRequestContext) async throws -> JSON {
        try authorize(request)
        let guild = try guildID(context)
        let body = try await Self.body(of: request)
        guard let object = try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any],
            let key = object["key"] as? String, !key.isEmpty, key.utf8.count <= 180,
            let values = object["settings"] as? [String: Any], !values.isEmpty
        else {
            throw APIError.badRequest("malformed_json", "the body is {\"key\": \"...\", \"settings\": {\"name\": value or null}}")
        }
        var changes: [(SettingKey, Int64?)] = []
        for (name, raw) in values.sorted(by: { $0.key < $1.key }) {
            guard let setting = SettingKey(name: name) else { throw APIError.badRequest("unknown_setting", "no setting named \(name)") }
            if raw is NSNull {
                changes.append((setting, nil))
            } else if let value = raw as? Int64 {
                guard setting.validRange.contains(value) else {
                    throw APIError.badRequest("invalid_value", "\(name) must be within \(setting.validRange), not \(value)")
                }
                changes.append((setting, value))
            } else {
                throw APIError.badRequest("invalid_value", "\(name) takes an integer or null")
            }
        }
        let time = now()
        for (setting, value) in changes {
            do {
                _ = try await node(guild).handle(
                    .setSetting(setting, value), guild: guild, context: CommandContext(key: "\(key):\(setting)", time: time))
            } catch let rejection as Rejection {
                throw APIError(.badRequest, rejection.code, rejection.message)
            }
        }
        return try await settings(context)
    }

    // MARK: Helpers

    private func node(_ guild: GuildID) async -> ShardNode { await nodes.node(for: guild) }

    private func guildID(_ context: BasicRequestContext) throws -> GuildID {
        let text = try context.parameters.require("guild")
        guard let v = Snowflake.parse(text) else {
            throw APIError.badRequest("invalid_snowflake", "the guild must be a Discord snowflake, not \(text)")
        }
        return GuildID(v)
    }

    private func knownGuild(_ guild: GuildID) async throws -> ReadModelStore {
        let store = try await node(guild).readModels(for: guild)
        guard try store.knowsGuild(guild) else { throw APIError(.notFound, "unknown_guild", "guild \(guild) has no history") }
        return store
    }

    /// The request's body, at most ``maxBody`` bytes.
    static func body(of request: Request) async throws -> ByteBuffer {
        var request = request
        do { return try await request.collectBody(upTo: maxBody) } catch {
            throw APIError(.contentTooLarge, "body_too_large", "request bodies are limited to \(maxBody) bytes")
        }
    }

    /// A person as the API spells one: a snowflake, `discord:<snowflake>` or `kick:<id>`.
    static func person(_ text: String) throws -> PersonID {
        if text.hasPrefix("kick:"), let id = Snowflake.parse(String(text.dropFirst(5))) { return .kick(KickUserID(id)) }
        let digits = text.hasPrefix("discord:") ? String(text.dropFirst(8)) : text
        guard let id = Snowflake.parse(digits) else {
            throw APIError.badRequest("invalid_person", "a person is a Discord snowflake, discord:ID or kick:ID, not \(text)")
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

/// A JSON object response.
public struct JSON: ResponseGenerator, Sendable {
    let object: [String: any Sendable]

    init(_ object: [String: any Sendable]) { self.object = object }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let data = try JSONSerialization.data(withJSONObject: JSON.plain(object), options: [.sortedKeys])
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// Converts to what `JSONSerialization` takes (nil becomes null, integers become NSNumber).
    static func plain(_ value: Any) -> Any {
        let mirror = Mirror(reflecting: value)
        if mirror.displayStyle == .optional {
            guard let wrapped = mirror.children.first?.value else { return NSNull() }
            return plain(wrapped)
        }
        switch value {
        case let d as [String: any Sendable]: return d.mapValues { plain($0) }
        case let d as [String: Int64]: return d
        case let a as [any Sendable]: return a.map { plain($0) }
        case let n as UInt64: return NSNumber(value: n)
        case let n as UInt32: return NSNumber(value: n)
        case let n as Int64: return NSNumber(value: n)
        case let n as Int: return NSNumber(value: n)
        case let b as Bool: return b
        case let x as Double: return x
        default: return value
        }
    }
}
