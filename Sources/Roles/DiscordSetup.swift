import AsyncHTTPClient
import Discord
import EventLog
import Logging
import Shard

/// A deployment's Discord app as a role wires it: the interactions endpoint on the API and the sender
/// the outbox uses (one REST client, so one rate limiter, per process).
struct DiscordSetup: Sendable {
    let ingress: DiscordIngress
    let sender: DiscordSender

    /// - Throws: ``Discord/DiscordError`` `configuration` when the public key is not an Ed25519 key.
    init(
        configuration: DiscordConfiguration, raffleSecret: [UInt8], publicBaseURL: String, nodes: any NodeRouter,
        client: HTTPClient, now: @escaping @Sendable () -> Timestamp, logger: Logger
    ) throws {
        ingress = try DiscordIngress(
            configuration: configuration, nodes: nodes, linkKey: KickSetup.linkKey(raffleSecret: raffleSecret),
            publicBaseURL: publicBaseURL, now: now, logger: logger)
        sender = DiscordSender(api: DiscordAPI(configuration: configuration, client: client))
    }
}
