import AsyncHTTPClient
import Domain
import EventLog
import Fakes
import Foundation
import Logging
import NIOCore
import ServiceLifecycle

/// `tally serve --demo` without a real Discord app: a fake Discord's admin sets a watch-time role in
/// each demo guild with a signed `/roles set`, then a viewer asks `/leaderboard` now and then — every
/// interaction signed by the fake and verified by the real endpoint; the role grants the watch time
/// earns go out through the outbox to the fake's REST API.
struct DiscordDemoService: Service {
    let fake: FakeDiscord
    let serviceURL: String
    let logger: Logger

    func run() async throws {
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            try await cancelWhenGracefulShutdown { try await demo(client) }
        } catch {
            try? await client.shutdown()
            if error is CancellationError { return }
            throw error
        }
        try await client.shutdown()
    }

    private func demo(_ client: HTTPClient) async throws {
        try await Task.sleep(for: .seconds(2))
        for (i, (guild, _)) in KickDemoService.guilds.enumerated() {
            let answer = try await post(
                client, guild: guild, user: 1, admin: true, name: "roles",
                options: [
                    [
                        "name": "set", "type": 1,
                        "options": [
                            ["name": "role", "type": 8, "value": String(700_000_000_000_000_000 + UInt64(i))],
                            ["name": "minutes", "type": 4, "value": 2],
                        ],
                    ]
                ])
            logger.info("demo Discord admin", metadata: ["guild": "\(guild)", "answer": "\(answer)"])
        }
        var round = 0
        while !Task.isCancelled {
            try await Task.sleep(for: .seconds(15))
            round += 1
            let guild = KickDemoService.guilds[round % KickDemoService.guilds.count].0
            let answer = try await post(
                client, guild: guild, user: 2, admin: false, name: "leaderboard",
                options: [["name": "board", "type": 3, "value": "watchtime"]])
            logger.info(
                "demo Discord /leaderboard",
                metadata: [
                    "guild": "\(guild)", "answer": "\(answer.replacingOccurrences(of: "\n", with: " | "))",
                    "role_calls": "\(fake.calls.filter { $0.path.contains("/roles/") }.count)",
                ])
        }
    }

    /// Signs and posts a slash command; returns the answer's text.
    private func post(
        _ client: HTTPClient, guild: GuildID, user: UInt64, admin: Bool, name: String, options: [[String: Any]]
    ) async throws -> String {
        let id = String(UInt64.random(in: 1..<UInt64.max))
        let body = try JSONSerialization.data(withJSONObject: [
            "id": id, "type": 2, "token": "demo-" + id, "guild_id": String(guild.rawValue),
            "member": ["user": ["id": String(user)], "permissions": admin ? "32" : "0"],
            "data": ["name": name, "options": options],
        ])
        let signed = try fake.sign(body, timestamp: Timestamp.now.rawValue / 1000)
        var request = HTTPClientRequest(url: serviceURL + "/v1/discord/interactions")
        request.method = .POST
        for (header, value) in signed.headers { request.headers.add(name: header, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await client.execute(request, timeout: .seconds(5))
        let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
        let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
        return ((object?["data"] as? [String: Any])?["content"] as? String) ?? "\(response.status.code) \(text)"
    }
}
