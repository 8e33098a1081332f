import AsyncHTTPClient
import Coordinator
import Discord
import Domain
import EventLog
import Fakes
import Foundation
import NIOCore
import Roles
import ServiceLifecycle
import TallyTesting
import Testing

/// Discord through `tally shard`: a coordinator and two shard roles in process, a fake Discord. Any
/// shard answers any guild's interaction (the one that does not own it forwards it, signature
/// headers and all, and the owner verifies it again); the owner's outbox delivers the guild's roles
/// and deferred answers.
@Suite(.timeLimit(.minutes(3))) struct ShardRoleDiscordTests {
    static let guild = GuildID(5_033_164_800_000_000_131)
    static let admin: UInt64 = 82_000_000_000_000_001
    static let viewer: UInt64 = 82_000_000_000_000_002
    static let role: UInt64 = 72_000_000_000_000_001

    @Test func eitherShardAnswersAGuildsInteractionsAndItsOwnerDeliversThem() async throws {
        let fake = FakeDiscord()
        try await TwoShardRoles.run(
            fake: { fake.application(address: $0, onServerRunning: $1) },
            configure: { configuration, base in configuration.discord = fake.configuration(base: base) }
        ) { cluster in try await scenario(cluster, fake) }
    }

    private func scenario(_ cluster: TwoShardRoles, _ fake: FakeDiscord) async throws {
        let (shards, client) = (cluster.shards, cluster.client)
        let owner = await cluster.owner(of: Self.guild)
        let ownerIndex = try #require(owner, "no shard was granted the guild's partition")
        let other = shards[1 - ownerIndex]

        func interact(_ object: [String: Any], via url: String) async throws -> [String: Any] {
            let body = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            let signed = try fake.sign(body, timestamp: Timestamp.now.rawValue / 1000)
            var request = HTTPClientRequest(url: url + "/v1/discord/interactions")
            request.method = .POST
            for (name, value) in signed.headers { request.headers.add(name: name, value: value) }
            request.body = .bytes(ByteBuffer(data: body))
            let response = try await client.execute(request, timeout: .seconds(15))
            #expect(response.status.code == 200)
            let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
            return try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        }
        func command(_ path: [String], _ options: [String: Any] = [:], id: String) -> [String: Any] {
            var nested: [[String: Any]] = options.sorted { $0.key < $1.key }.map {
                ["name": $0.key, "type": 3, "value": $0.value]
            }
            for name in path.dropFirst().reversed() { nested = [["name": name, "type": 1, "options": nested]] }
            return [
                "id": id, "type": 2, "token": "token-\(id)", "application_id": fake.applicationID,
                "guild_id": String(Self.guild.rawValue),
                "member": ["user": ["id": String(Self.admin)], "permissions": "32", "roles": [String]()],
                "data": ["name": path[0], "options": nested],
            ]
        }
        func content(_ answer: [String: Any]) -> String {
            (answer["data"] as? [String: Any])?["content"] as? String ?? ""
        }
        // Through the shard that does not own the guild: forwarded, verified again, answered.
        let add = command(
            ["points", "add"], ["user": String(Self.viewer), "amount": 150, "reason": "bonus"], id: "801")
        #expect(content(try await interact(add, via: other.url)).contains("now has 150"))
        #expect(
            content(try await interact(add, via: ownerIndex == 0 ? shards[0].url : shards[1].url)) == "Already done.")
        let state = try await shards[ownerIndex].role.node.owner(for: Self.guild).state(of: Self.guild)
        #expect(state?.person(.discord(UserID(Self.viewer))).points == 150)
        // A forged interaction is refused by the shard it reaches, before any forwarding.
        var forged = try fake.sign(Data(#"{"type":1}"#.utf8), timestamp: Timestamp.now.rawValue / 1000)
        forged.body = Data(#"{"type":2}"#.utf8)
        var request = HTTPClientRequest(url: other.url + "/v1/discord/interactions")
        request.method = .POST
        for (name, value) in forged.headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(data: forged.body))
        #expect(try await client.execute(request, timeout: .seconds(10)).status.code == 401)

        // A linked viewer and a role at 0 minutes: the owner's outbox grants it in Discord.
        for body in [
            #"{"type":"request_link","key":"l1","user_id":"\#(Self.viewer)"}"#,
            #"{"type":"confirm_link","key":"l2","user_id":"\#(Self.viewer)","kick_user_id":77,"kick_username":"sevens"}"#,
        ] {
            var request = HTTPClientRequest(url: other.url + "/v1/guilds/\(Self.guild)/commands")
            request.method = .POST
            request.headers.add(name: "Authorization", value: "Bearer t")
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
            let response = try await client.execute(request, timeout: .seconds(15))
            let text = String(buffer: try await response.body.collect(upTo: 1 << 16))
            #expect(response.status.code == 200, "\(text)")
        }
        _ = try await interact(
            command(["roles", "set"], ["role": String(Self.role), "minutes": 0], id: "802"), via: other.url)
        try await cluster.eventually("the role granted") {
            fake.roles(guild: Self.guild.rawValue, user: Self.viewer) == [Self.role]
        }

        // A slow command through the other shard: "thinking…", then the owner's outbox edits the answer in.
        let thinking = try await interact(command(["roles", "status"], id: "803"), via: other.url)
        #expect(thinking["type"] as? Int == 5, "\(thinking)")
        try await cluster.eventually("the deferred answer") {
            fake.original(token: "token-803")?.contains("role changes waiting") == true
        }
    }
}
