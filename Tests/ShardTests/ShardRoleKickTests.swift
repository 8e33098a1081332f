import AsyncHTTPClient
import Coordinator
import Domain
import EventLog
import Fakes
import Foundation
import NIOCore
import Roles
import ServiceLifecycle
import TallyTesting
import Testing

/// Kick through `tally shard`: a coordinator and two shard roles in process, a fake Kick. Either
/// shard takes any webhook: it routes it to the guilds it holds and sends it, signature headers and
/// all, to the other shard, which verifies it again and routes it to its own; each owner's outbox
/// delivers its guilds' Kick effects (the channel subscription, chat replies).
@Suite(.timeLimit(.minutes(3))) struct ShardRoleKickTests {
    static let broadcaster: UInt64 = 7_700_777
    static let viewer: UInt64 = 4_242

    @Test func eitherShardTakesAWebhookForGuildsOnBothAndTheOwnersDeliverTheirEffects() async throws {
        let fake = try FakeKick()
        try await TwoShardRoles.run(
            fake: { fake.application(address: $0, onServerRunning: $1) },
            configure: { configuration, base in configuration.kick = fake.configuration(base: base) }
        ) { cluster in try await scenario(cluster, fake) }
    }

    private func scenario(_ cluster: TwoShardRoles, _ fake: FakeKick) async throws {
        let (shards, client) = (cluster.shards, cluster.client)
        // One guild on each shard, both connected to the same Kick channel.
        var guilds: [Int: GuildID] = [:]
        for n in UInt64(1)...200 where guilds.count < 2 {
            let guild = GuildID(5_033_164_800_000_000_000 + n)
            if let i = await cluster.owner(of: guild), guilds[i] == nil { guilds[i] = guild }
        }
        let first = try #require(guilds[0], "no guild found on shard-1")
        let second = try #require(guilds[1], "no guild found on shard-2")

        @discardableResult
        func command(_ guild: GuildID, _ json: String, via url: String) async throws -> String {
            var request = HTTPClientRequest(url: url + "/v1/guilds/\(guild)/commands")
            request.method = .POST
            request.headers.add(name: "Authorization", value: "Bearer t")
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: json))
            let response = try await client.execute(request, timeout: .seconds(15))
            let text = String(buffer: try await response.body.collect(upTo: 1 << 16))
            #expect(response.status.code == 200, "\(text)")
            return text
        }
        func deliver(_ hook: FakeKick.Webhook, via url: String) async throws -> (Int, String) {
            var request = HTTPClientRequest(url: url + "/v1/kick/webhook")
            request.method = .POST
            for (name, value) in hook.headers { request.headers.add(name: name, value: value) }
            request.body = .bytes(ByteBuffer(data: hook.body))
            let response = try await client.execute(request, timeout: .seconds(20))
            return (Int(response.status.code), String(buffer: try await response.body.collect(upTo: 1 << 16)))
        }
        func chat(_ content: String, id: String, broadcaster: UInt64 = Self.broadcaster) throws -> FakeKick.Webhook {
            let user: (UInt64, String) -> [String: Any] = { id, name in
                ["is_anonymous": false, "user_id": id, "username": name, "is_verified": false, "channel_slug": name]
            }
            let body: [String: Any] = [
                "message_id": "chat-" + id, "broadcaster": user(broadcaster, "streamer"),
                "sender": user(Self.viewer, "viewer"), "content": content, "emotes": [Any](),
                "created_at": FakeKick.rfc3339(Timestamp.now.rawValue),
            ]
            return try fake.webhook(
                type: "chat.message.sent",
                body: try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys]),
                messageID: id, timestamp: FakeKick.rfc3339(Timestamp.now.rawValue))
        }
        // Both guilds connect the channel, each through the shard that does not own it (forwarded):
        // each owner's outbox subscribes the channel's events at Kick.
        for (i, guild) in [(0, first), (1, second)] {
            try await command(
                guild,
                #"{"type":"connect_kick_channel","key":"c","broadcaster_user_id":\#(Self.broadcaster),"slug":"streamer"}"#,
                via: shards[1 - i].url)
            try await command(
                guild,
                #"{"type":"adjust_points","key":"p","person":"kick:\#(Self.viewer)","delta":\#(1000 + i),"reason":"welcome"}"#,
                via: shards[1 - i].url)
        }
        try await cluster.eventually("both subscriptions") { fake.subscriptions.count >= 2 }
        #expect(fake.subscriptions.allSatisfy { $0.broadcaster == Self.broadcaster })

        // A chat command through shard-1 reaches the guild it holds and, forwarded, the one shard-2 holds.
        let hook = try chat("!points", id: "m-1")
        let (status, body) = try await deliver(hook, via: shards[0].url)
        #expect(status == 200, "\(body)")
        let answer = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
        #expect(Set(answer?["guilds"] as? [String] ?? []) == [first.description, second.description], "\(body)")
        #expect(answer?["duplicate"] as? Bool == false)
        for (i, guild) in [(0, first), (1, second)] {
            let state = try await shards[i].role.node.owner(for: guild).state(of: guild)
            #expect(state?.person(.kick(KickUserID(Self.viewer))).points == 1000 + Int64(i))
        }
        // Each owner's outbox answers in chat, once per guild.
        try await cluster.eventually("both replies") { fake.chats.count >= 2 }
        #expect(
            Set(fake.chats.map(\.content)) == ["@viewer you have 1,000 points.", "@viewer you have 1,001 points."],
            "\(fake.chats.map(\.content))")
        #expect(fake.chats.allSatisfy { $0.replyTo == "chat-m-1" })

        // Kick retrying it, to either shard, is a duplicate everywhere: no second reply.
        for shard in shards {
            let (again, text) = try await deliver(hook, via: shard.url)
            #expect(again == 200 && text.contains(#""duplicate":true"#), "\(text)")
        }
        try await Task.sleep(for: .milliseconds(500))
        #expect(fake.chats.count == 2)

        // A channel no guild connected reaches none; a forged webhook is refused before any forwarding.
        let (_, unconnected) = try await deliver(try chat("hello", id: "m-2", broadcaster: 1), via: shards[1].url)
        #expect(unconnected.contains(#""guilds":[]"#), "\(unconnected)")
        var forged = try chat("!points", id: "m-3")
        forged.body = Data(
            String(decoding: forged.body, as: UTF8.self).replacingOccurrences(of: "!points", with: "!pointz").utf8)
        #expect(try await deliver(forged, via: shards[1].url).0 == 401)
        let state = try await shards[0].role.node.owner(for: first).state(of: first)
        #expect(state?.keys["m-3"] == nil)
    }
}
