public import Discord
import Domain
public import EventLog
import Foundation
import HTTPTypes
public import Hummingbird
import Kick
public import Logging
import Metrics

/// Discord's way in: `POST /v1/discord/interactions`, over HTTP (no gateway).
///
/// Each request is verified (Ed25519 over timestamp ‖ raw body, ±300 s) before anything of it is
/// parsed; any failure is a 401. A PING is answered `{"type":1}`. Slash commands and buttons are
/// answered at once (type 4 or 7): reads from the guild's state, changes as ordinary commands keyed
/// by the interaction id (kept in the log for 7 days, so a replay is a duplicate even after a restart)
/// with the Discord user as their actor. The commands that may be slow (``deferredPaths``) answer
/// type 5 at once when a ``DeferredInteractions`` queue is attached, and are finished by the outbox. Errors are ephemeral messages in plain words; a verified
/// interaction is never answered 500.
public struct DiscordIngress: Sendable {
    public let verifier: InteractionVerifier
    public let nodes: any NodeRouter
    /// Signs link tokens (the Kick side checks them).
    public let linkKey: [UInt8]
    /// The service's public base URL, for link buttons.
    public let publicBaseURL: String
    public let now: @Sendable () -> Timestamp
    /// Where slow commands go to be finished later (nil: every command is answered at once). Default nil.
    public var deferred: DeferredInteractions?
    /// Sends an interaction on to the node that owns its guild, or returns nil when this process serves
    /// the guild (a shard of a multi-process cluster; nil: every guild is served here). Default nil.
    public var forward: (@Sendable (GuildID, Request) async throws -> Response?)?
    let logger: Logger
    let verificationFailures = Counter(
        label: "tally_webhook_verification_failures_total", dimensions: [("platform", "discord")])
    let answered = Counter(label: "tally_interactions_total", dimensions: [("platform", "discord")])

    public init(
        configuration: DiscordConfiguration, nodes: any NodeRouter, linkKey: [UInt8], publicBaseURL: String,
        now: @escaping @Sendable () -> Timestamp, logger: Logger
    ) throws {
        verifier = try InteractionVerifier(publicKeyHex: configuration.publicKeyHex)
        self.nodes = nodes
        self.linkKey = linkKey
        self.publicBaseURL = publicBaseURL
        self.now = now
        self.logger = logger
    }

    /// Adds the route to `router`.
    public func register(on router: Router<BasicRequestContext>) {
        router.post("/v1/discord/interactions") { request, _ in try await interaction(request) }
    }

    func interaction(_ request: Request) async throws -> Response {
        var request = request
        let body: ByteBuffer
        do { body = try await request.collectBody(upTo: 64 * 1024) } catch {
            throw APIError(.bodyTooLarge, "interaction bodies are limited to 64 KiB")
        }
        let bytes = Data(buffer: body)
        do {
            try verifier.verify(
                signature: request.headers[HTTPField.Name("X-Signature-Ed25519")!],
                timestamp: request.headers[HTTPField.Name("X-Signature-Timestamp")!], body: bytes,
                now: now().rawValue / 1000)
        } catch let error as DiscordError {
            verificationFailures.increment()
            throw APIError(.unauthorized, "the interaction does not verify: \(error.message)", underlying: error)
        }
        let interaction: Interaction
        do { interaction = try Interaction(json: bytes) } catch let error as DiscordError {
            throw APIError(.malformedJSON, error.message, underlying: error)
        }
        if let forward, let text = interaction.guildID, let guild = UInt64(text), guild > 0 {
            do {
                if let response = try await forward(GuildID(guild), request) { return response }
            } catch {
                logger.warning(
                    "interaction could not be forwarded", metadata: ["guild": "\(guild)", "error": "\(error)"])
                return Self.json(.message(Self.busy, ephemeral: true))
            }
        }
        answered.increment()
        return Self.json(await respond(to: interaction, deferring: deferred != nil))
    }

    /// The slash commands that may take long (a draw, a scan of the guild's history): answered
    /// "thinking…" and finished through the outbox, with whether their answer is for the user alone.
    static let deferredPaths: [[String]: Bool] = [["raffle", "draw"]: false, ["roles", "status"]: true]

    /// The answer to a verified interaction; a slow command is deferred when `deferring`.
    public func respond(to interaction: Interaction, deferring: Bool = false) async -> InteractionResponse {
        if interaction.type == .ping { return .pong }
        guard let guildText = interaction.guildID else {
            return .message(
                "Sorry, Tally only works inside a server: use its commands in the server where you watch.",
                ephemeral: true)
        }
        guard let guildValue = UInt64(guildText), guildValue > 0, let userText = interaction.invoker?.id,
            let userValue = UInt64(userText), userValue > 0
        else { return .message("That request did not name a server and a member.", ephemeral: true) }
        let guild = GuildID(guildValue)
        do {
            let node = await nodes.node(for: guild)
            let state = try await node.owner(for: guild).state(of: guild)
            let call = Call(
                interaction: interaction, guild: guild, user: UserID(userValue), node: node, state: state,
                time: now())
            if deferring, interaction.type == .applicationCommand, interaction.token != nil,
                let ephemeral = Self.deferredPaths[interaction.commandPath.0],
                !Self.adminPaths.contains(interaction.commandPath.0) || call.isAdmin,
                let deferred, deferred.submit(interaction)
            {
                return .deferred(ephemeral: ephemeral)
            }
            switch interaction.type {
            case .applicationCommand: return try await command(call)
            case .messageComponent: return try await component(call)
            default: return .message("Tally does not answer that kind of interaction.", ephemeral: true)
            }
        } catch let rejection as Rejection {
            return .message(Self.plain(rejection), ephemeral: true)
        } catch {
            logger.warning(
                "interaction could not be answered", metadata: ["guild": "\(guild)", "error": "\(error)"])
            return .message(Self.busy, ephemeral: true)
        }
    }

    /// Answers a deferred interaction: computes its answer as ``respond(to:deferring:)`` would have,
    /// and asks the outbox to edit the original response into it. A partition on the move is waited
    /// for (about 15 s, well inside the token's 15 minutes).
    public func finish(_ interaction: Interaction) async {
        guard let text = interaction.guildID, let value = UInt64(text), value > 0, let token = interaction.token
        else { return }
        let guild = GuildID(value)
        let message = (await respond(to: interaction, deferring: false)).data?.editJSON() ?? #"{"content":"Done."}"#
        let user = interaction.invoker.flatMap { UInt64($0.id) }.map { UserID($0) } ?? .unknown
        var wait = Duration.milliseconds(100)
        for attempt in 1...8 {
            do {
                _ = try await nodes.node(for: guild).handle(
                    .finishInteraction(token: token, message: message), guild: guild,
                    context: CommandContext(key: "discord-followup:" + interaction.id, time: now(), actor: user))
                return
            } catch let rejection as Rejection {
                logger.warning(
                    "deferred interaction cannot be finished",
                    metadata: ["guild": "\(guild)", "interaction": "\(interaction.id)", "reason": "\(rejection)"])
                return
            } catch {
                logger.notice(
                    "deferred interaction waits for its partition",
                    metadata: ["guild": "\(guild)", "attempt": "\(attempt)", "error": "\(error)"])
                do { try await Task.sleep(for: wait) } catch { return }
                wait = min(wait * 2, .seconds(4))
            }
        }
        logger.error(
            "deferred interaction was not finished",
            metadata: ["guild": "\(guild)", "interaction": "\(interaction.id)"])
    }

    /// One interaction being answered, with what every handler needs.
    struct Call: Sendable {
        let interaction: Interaction
        let guild: GuildID
        let user: UserID
        let node: ShardNode
        /// The guild's state (nil: Tally has never been set up in it).
        let state: GuildState?
        let time: Timestamp

        var key: String { "discord:" + interaction.id }
        var context: CommandContext { CommandContext(key: key, time: time, actor: user) }

        /// Whether the member may use admin commands: Manage Server (or Administrator), or the role
        /// the guild names in `admin_role_id`.
        var isAdmin: Bool {
            if interaction.memberHasPermission(Interaction.manageGuild | 1 << 3) { return true }
            let role = state?.settings[.adminRoleID] ?? 0
            return role > 0 && (interaction.member?.roles ?? []).contains(String(role))
        }

        /// Runs a command for the guild; a replayed interaction is a duplicate and changes nothing.
        func handle(_ command: Command) async throws -> PartitionOwner.Outcome {
            try await node.handle(command, guild: guild, context: context)
        }
    }

    /// A response as HTTP.
    static func json(_ response: InteractionResponse) -> Response {
        Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: response.json())))
    }

    /// A rejection as an admin or viewer should read it.
    static func plain(_ rejection: Rejection) -> String {
        var text = rejection.message
        if let first = text.first { text = first.uppercased() + text.dropFirst() }
        return text.hasSuffix(".") ? text : text + "."
    }

    /// The answer when the guild's partition cannot be reached right now.
    static let busy = "Tally is busy right now (the server is moving). Try again in a moment."

    /// The message a guild without Tally gets.
    static let notSetUp =
        "Tally is not set up in this server yet. A server admin (Manage Server) starts it with "
        + "/settings set or /roles set, and the operator connects the Kick channel with "
        + "`tally` (see the README's \"Kick\" section)."
}
