import AsyncHTTPClient
import Discord
import EventLog
import Hummingbird
import Logging
import ServiceLifecycle
import Shard

/// A deployment's Discord app as a role wires it: the interactions endpoint on the API, the service
/// that finishes deferred interactions, and the sender the outbox uses (one REST client, so one rate
/// limiter, per process).
struct DiscordSetup: Sendable {
    let ingress: DiscordIngress
    let sender: DiscordSender
    /// Finishes the slow commands the ingress answered "thinking…"; runs before the HTTP server
    /// starts and stops after it.
    let deferredService: DeferredInteractionService

    /// - Parameter forward: sends an interaction for a guild another shard owns there (a shard of a
    ///   multi-process cluster); nil when this process serves every guild.
    /// - Throws: ``Discord/DiscordError`` `configuration` when the public key is not an Ed25519 key.
    init(
        configuration: DiscordConfiguration, raffleSecret: [UInt8], publicBaseURL: String, nodes: any NodeRouter,
        client: HTTPClient, now: @escaping @Sendable () -> Timestamp, logger: Logger,
        forward: ForwardingMiddleware<BasicRequestContext>? = nil
    ) throws {
        var ingress = try DiscordIngress(
            configuration: configuration, nodes: nodes, linkKey: KickSetup.linkKey(raffleSecret: raffleSecret),
            publicBaseURL: publicBaseURL, now: now, logger: logger)
        let queue = DeferredInteractions()
        ingress.deferred = queue
        if let forward {
            ingress.forward = { guild, request in try await forward.forwardIfElsewhere(guild: guild, request) }
        }
        self.ingress = ingress
        deferredService = DeferredInteractionService(ingress: ingress, queue: queue)
        sender = DiscordSender(api: DiscordAPI(configuration: configuration, client: client))
    }
}
