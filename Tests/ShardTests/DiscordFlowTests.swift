import AsyncHTTPClient
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

/// A guild's whole flow through the real endpoints, with a fake Kick and a fake Discord: `/link` →
/// Kick OAuth → the linked role granted; watch time crosses 120 minutes → `Tier 1` granted; an
/// admin's `/raffle draw` → the winner announced once.
@Suite(.timeLimit(.minutes(3))) struct DiscordFlowTests {
    static let guild = GuildID(5_033_164_800_000_000_077)
    static let viewer: UInt64 = 81_000_000_000_000_001
    static let admin: UInt64 = 81_000_000_000_000_002
    static let kickUser: UInt64 = 4_242_077
    static let linkedRole: UInt64 = 71_000_000_000_000_001
    static let tier1: UInt64 = 71_000_000_000_000_002
    static let channel: UInt64 = 61_000_000_000_000_001

    @Test func linkThenWatchTimeThenADrawReachDiscord() async throws {
        let platforms = try FakePlatforms()
        var httpConfiguration = HTTPClient.Configuration()
        httpConfiguration.redirectConfiguration = .disallow
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: httpConfiguration)
        try await platforms.run(client: client, secret: Array(repeating: 5, count: 32)) { role, base in
            try await flow(role, platforms.kick, platforms.discord, base, client)
        }
    }

    private func flow(_ role: ServeRole, _ kick: FakeKick, _ discord: FakeDiscord, _ base: String, _ client: HTTPClient)
        async throws
    {
        /// Signs and posts a slash command; returns the answer's JSON text.
        func command(_ name: String, _ sub: String?, _ options: [[String: Any]] = [], user: UInt64, admin: Bool = false)
            async throws -> String
        {
            let data: [String: Any] =
                sub.map { ["name": name, "options": [["name": $0, "type": 1, "options": options]]] }
                ?? ["name": name, "options": options]
            let token = "tok-" + UUID().uuidString
            let body = try JSONSerialization.data(withJSONObject: [
                "id": UUID().uuidString, "type": 2, "token": token, "guild_id": String(Self.guild.rawValue),
                "member": ["user": ["id": String(user)], "permissions": admin ? "32" : "0"], "data": data,
            ])
            let signed = try discord.sign(body, timestamp: Timestamp.now.rawValue / 1000)
            var request = HTTPClientRequest(url: base + "/v1/discord/interactions")
            request.method = .POST
            for (header, value) in signed.headers { request.headers.add(name: header, value: value) }
            request.body = .bytes(ByteBuffer(data: body))
            let response = try await client.execute(request, timeout: .seconds(10))
            #expect(response.status.code == 200)
            let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
            // A slow command answers "thinking…"; the outbox edits its answer in.
            guard
                text == #"{"type":5}"#
                    || text.hasPrefix(#"{"data":{"allowed_mentions"#) && text.hasSuffix(#""type":5}"#)
            else { return text }
            for _ in 0..<400 {
                if let edit = discord.original(token: token) { return edit }
                try await Task.sleep(for: .milliseconds(25))
            }
            Issue.record("the deferred \(name) was never finished")
            return text
        }
        func get(_ url: String) async throws -> (UInt, String, String?) {
            let response = try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(10))
            return (
                response.status.code, String(buffer: try await response.body.collect(upTo: 1 << 20)),
                response.headers.first(name: "Location")
            )
        }
        func eventually(_ what: String, _ condition: () async throws -> Bool) async throws {
            for _ in 0..<200 {
                if try await condition() { return }
                try await Task.sleep(for: .milliseconds(50))
            }
            Issue.record("timed out waiting for \(what)")
        }
        func string(_ name: String, _ value: String) -> [String: Any] { ["name": name, "type": 3, "value": value] }

        // The admin sets the guild up from Discord.
        _ = try await command(
            "settings", "set", [string("name", "linked_role_id"), string("value", String(Self.linkedRole))],
            user: Self.admin, admin: true)
        _ = try await command(
            "settings", "set", [string("name", "raffle_announcement_channel"), string("value", String(Self.channel))],
            user: Self.admin, admin: true)
        _ = try await command(
            "roles", "set", [string("role", String(Self.tier1)), ["name": "minutes", "type": 4, "value": 120]],
            user: Self.admin, admin: true)

        // /link → the signed URL → Kick's OAuth → linked, and the linked role granted.
        let answer = try await command("link", nil, user: Self.viewer)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(answer.utf8)) as? [String: Any])
        let rows = try #require((object["data"] as? [String: Any])?["components"] as? [[String: Any]])
        let button = try #require((rows.first?["components"] as? [[String: Any]])?.first)
        let linkURL = try #require(button["url"] as? String).replacingOccurrences(
            of: "http://127.0.0.1:8080", with: base)
        kick.consent(as: Self.kickUser, name: "mizuro")
        let (startStatus, _, authorize) = try await get(linkURL)
        #expect(startStatus == 302)
        let (consentStatus, _, callback) = try await get(try #require(authorize))
        #expect(consentStatus == 302)
        let (linked, page, _) = try await get(
            try #require(callback).replacingOccurrences(of: "http://127.0.0.1:8080", with: base))
        #expect(linked == 200 && page.contains("is now linked"), "\(page)")
        try await eventually("the linked role granted") {
            discord.roles(guild: Self.guild.rawValue, user: Self.viewer) == [Self.linkedRole]
        }

        // Two hours of chat while live: watch time crosses 120 minutes and Tier 1 follows.
        let node = await role.cluster.node(for: Self.guild)
        let start = Timestamp.now.rawValue - 3 * 3_600_000
        func handle(_ command: Command, _ key: String, at time: Int64) async throws {
            _ = try await node.handle(
                command, guild: Self.guild, context: CommandContext(key: key, time: Timestamp(milliseconds: time)))
        }
        try await handle(.overrideTracking(.forcedOn), "on", at: start)
        for minute in 1...120 {
            let at = start + Int64(minute) * 60_000
            try await handle(
                .recordChatActivity(KickUserID(Self.kickUser), username: "mizuro"), "chat\(minute)", at: at - 1000)
            try await handle(.tick, "tick\(minute)", at: at)
        }
        #expect(
            try await node.owner(for: Self.guild).state(of: Self.guild)?.person(.discord(UserID(Self.viewer))).minutes
                == 120)
        try await eventually("Tier 1 granted") {
            discord.roles(guild: Self.guild.rawValue, user: Self.viewer) == [Self.linkedRole, Self.tier1]
        }

        // An admin draws: the winner is announced once.
        // Only a closed period whose beacon is out is drawn: one that ended an hour ago.
        try await prepareEndedPeriod(
            node: node, guild: Self.guild, secret: Array(repeating: 5, count: 32),
            tickets: [.discord(UserID(Self.viewer)): 10])
        let drawn = try await command("raffle", "draw", user: Self.admin, admin: true)
        #expect(drawn.contains("<@\(Self.viewer)>"), "\(drawn)")
        try await eventually("the announcement posted") { discord.messages(in: Self.channel).count == 1 }
        try await Task.sleep(for: .milliseconds(300))
        #expect(discord.messages(in: Self.channel).count == 1)
        let status = try await command("roles", "status", user: Self.admin, admin: true)
        #expect(status.contains("0 role changes waiting") && status.contains("No role change has failed"), "\(status)")
    }
}
