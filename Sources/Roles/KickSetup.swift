import AsyncHTTPClient
import Crypto
public import EventLog
import Hummingbird
public import Kick
import Logging
import Shard

/// A deployment's Kick app as a role wires it: the ingress on the API and the sender the outbox uses.
struct KickSetup: Sendable {
    let ingress: KickIngress
    let sender: KickSender

    /// - Parameter forward: in a shard of a multi-process cluster, what sends a webhook to the other
    ///   shards (each routes it to the guilds it holds) and a link step to its guild's owner; nil when
    ///   this process serves every guild.
    /// - Throws: ``Kick/KickError`` `configuration` when the webhook key is not an RSA public key.
    init(
        configuration: KickConfiguration, raffleSecret: [UInt8], publicBaseURL: String, nodes: any NodeRouter,
        client: HTTPClient, now: @escaping @Sendable () -> Timestamp, logger: Logger,
        forward: ForwardingMiddleware<BasicRequestContext>? = nil
    ) throws {
        var ingress = try KickIngress(
            configuration: configuration, client: client, nodes: nodes,
            linkKey: KickSetup.linkKey(raffleSecret: raffleSecret), publicBaseURL: publicBaseURL, now: now,
            logger: logger)
        if let forward {
            ingress.fanOut = { request in try await forward.sendToEveryOtherOwner(request) }
            ingress.forward = { guild, request in try await forward.forwardIfElsewhere(guild: guild, request) }
        }
        self.ingress = ingress
        sender = KickSender(api: KickAPI(configuration: configuration, client: client))
    }

    /// The key link tokens are signed with, derived from the deployment secret (so `tally link url`
    /// on the data directory signs tokens the service accepts).
    static func linkKey(raffleSecret: [UInt8]) -> [UInt8] {
        Array(
            HMAC<SHA256>.authenticationCode(
                for: Array("tally-link-token".utf8), using: SymmetricKey(data: raffleSecret)))
    }
}

extension LinkToken {
    /// A link token for `user` of `guild`, valid for `seconds`, signed with the deployment's key.
    public static func make(guild: GuildID, user: UInt64, raffleSecret: [UInt8], now: Timestamp, seconds: Int64 = 900)
        -> String
    {
        LinkToken(guild: guild.rawValue, user: user, expiresAt: now.rawValue + seconds * 1000)
            .signed(key: KickSetup.linkKey(raffleSecret: raffleSecret))
    }
}
