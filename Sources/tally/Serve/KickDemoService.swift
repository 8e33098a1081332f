import AsyncHTTPClient
import Domain
import EventLog
import Fakes
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import Shard

/// `tally serve --demo` without a real Kick app: a simulated stream on a fake Kick, delivered through
/// the real webhook ingress. Three guilds are connected to three fake channels; their chatters chat
/// (some type `!points` and the bot answers through the outbox), the streams go live and offline,
/// viewers subscribe and gift — every change arrives as a signed webhook, so leaderboards move from
/// webhooks, not from commands.
struct KickDemoService: Service {
    let fake: FakeKick
    let router: any NodeRouter
    /// The service's own base URL, where webhooks are posted.
    let serviceURL: String
    let now: @Sendable () -> Timestamp
    let logger: Logger

    static let guilds: [(GuildID, KickChannel)] = (1...3).map { i in
        (
            GuildID(5_033_164_800_000_000_000 + UInt64(i)),
            KickChannel(broadcaster: KickUserID(900_000 + UInt64(i)), slug: "demo_streamer_\(i)")
        )
    }

    func run() async throws {
        for (guild, channel) in Self.guilds {
            _ = try await router.node(for: guild).handle(
                .connectKickChannel(channel), guild: guild,
                context: CommandContext(key: "demo-connect:\(guild)", time: now()))
        }
        logger.info(
            "demo stream on a fake Kick",
            metadata: ["guilds": "\(Self.guilds.map(\.0.description).joined(separator: ","))"])
        var rng = SplitMix64(seed: UInt64(now().rawValue))
        var live = Set<Int>()
        var sequence = 0
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            for (index, (_, channel)) in Self.guilds.enumerated() {
                let broadcaster = Self.user(channel.broadcaster.rawValue, channel.slug)
                if !live.contains(index) || rng.chance(0.002) {
                    let goLive = !live.contains(index)
                    if goLive { live.insert(index) } else { live.remove(index) }
                    try await post(
                        "livestream.status.updated", ["broadcaster": broadcaster, "is_live": goLive], &sequence)
                }
                let chatter = 1 + rng.next() % 25
                let sender = Self.user(channel.broadcaster.rawValue * 100 + chatter, "viewer\(chatter)_\(index + 1)")
                let content = rng.chance(0.05) ? "!points" : "hello from viewer \(chatter)"
                try await post(
                    "chat.message.sent",
                    [
                        "message_id": "demo-\(sequence)", "broadcaster": broadcaster, "sender": sender,
                        "content": content,
                        "emotes": [Any](), "created_at": FakeKick.rfc3339(now().rawValue),
                    ], &sequence)
                if rng.chance(0.01) {
                    let giftees = (0..<(1 + rng.next() % 5)).map {
                        Self.user(channel.broadcaster.rawValue * 100 + 50 + $0, "giftee\($0)")
                    }
                    try await post(
                        "channel.subscription.gifts",
                        [
                            "broadcaster": broadcaster, "gifter": sender, "giftees": giftees,
                            "created_at": FakeKick.rfc3339(now().rawValue),
                        ], &sequence)
                }
            }
            do { try await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(700)) } } catch {
                return
            }
        }
    }

    static func user(_ id: UInt64, _ name: String) -> [String: Any] {
        ["is_anonymous": false, "user_id": id, "username": name, "is_verified": false, "channel_slug": name]
    }

    private func post(_ type: String, _ body: [String: Any], _ sequence: inout Int) async throws {
        sequence += 1
        let webhook = try fake.webhook(
            type: type, body: try JSONSerialization.data(withJSONObject: body),
            messageID: "demo-\(now().rawValue)-\(sequence)", timestamp: FakeKick.rfc3339(now().rawValue))
        var request = HTTPClientRequest(url: serviceURL + "/v1/kick/webhook")
        request.method = .POST
        for (name, value) in webhook.headers { request.headers.add(name: name, value: value) }
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(data: webhook.body))
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(5))
            if response.status.code != 200 {
                logger.warning(
                    "demo webhook refused", metadata: ["type": "\(type)", "status": "\(response.status.code)"])
            }
        } catch {
            logger.warning("demo webhook failed", metadata: ["type": "\(type)", "error": "\(error)"])
        }
    }
}
