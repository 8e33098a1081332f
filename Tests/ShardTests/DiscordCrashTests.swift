import AsyncHTTPClient
import Fakes
import Foundation
import NIOCore
import ServiceLifecycle
import TallyTesting
import Testing

/// A real `tally serve` delivering role changes and an announcement to a fake Discord, killed with
/// SIGKILL in the middle and restarted: every change arrives, nothing is lost, and at most the one
/// idempotent call in flight at the kill is sent again.
@Suite(.serialized, .timeLimit(.minutes(5))) struct DiscordCrashTests {
    static let guild = "5033164800000000099"
    static let channel: UInt64 = 62_000_000_000_000_001

    @Test func aServerKilledMidDeliveryLosesNothingAndResendsAtMostTheCallInFlight() async throws {
        let temporary = TemporaryDirectory()
        // 5 role changes per 100 ms: 200 of them take about 4 s, so the kill lands in the middle.
        let fake = FakeDiscord(roleLimit: .init(requests: 5, window: .milliseconds(100)), globalPerSecond: 1000)
        let fakePort = RolesTests.BoundPort()
        let fakeGroup = ServiceGroup(
            services: [
                fake.application(address: .hostname("127.0.0.1", port: 0), onServerRunning: { fakePort.set($0) })
            ],
            gracefulShutdownSignals: [], logger: testLogger)
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let port = 40_000 + Int(getpid() % 20_000)
        let token = "discord-crash-token"
        do {
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await fakeGroup.run() }
                let environment = [
                    "TALLY_DISCORD_APPLICATION_ID": fake.applicationID,
                    "TALLY_DISCORD_PUBLIC_KEY": fake.publicKeyHex,
                    "TALLY_DISCORD_BOT_TOKEN": fake.botToken,
                    "TALLY_DISCORD_API_BASE": "http://127.0.0.1:\(try await fakePort.wait())/api/v10",
                ]
                let serve = ["serve", "--data", temporary.path, "--port", String(port), "--partitions", "4"]
                var server = try startTally(serve, token: token, environment: environment)
                do {
                    try await run(fake, client, port: port, token: token) {
                        kill(server.processIdentifier, SIGKILL)
                        server.waitUntilExit()  // killed: returns at once
                        server = try startTally(serve, token: token, environment: environment)
                    }
                } catch {
                    server.terminate()
                    await server.exited()
                    await fakeGroup.triggerGracefulShutdown()
                    throw error
                }
                server.terminate()
                await server.exited()
                await fakeGroup.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
        } catch {
            try await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }

    private func run(
        _ fake: FakeDiscord, _ client: HTTPClient, port: Int, token: String, restart: () throws -> Void
    ) async throws {
        let base = "http://127.0.0.1:\(port)"
        func waitForHealth() async throws {
            for _ in 0..<400 {
                if let response = try? await client.execute(
                    HTTPClientRequest(url: base + "/health"), timeout: .seconds(1)),
                    response.status == .ok
                {
                    return
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            Issue.record("the server did not come up")
        }
        func command(_ json: String) async throws {
            var request = HTTPClientRequest(url: base + "/v1/guilds/\(Self.guild)/commands")
            request.method = .POST
            request.headers.add(name: "Authorization", value: "Bearer " + token)
            request.body = .bytes(ByteBuffer(string: json))
            let response = try await client.execute(request, timeout: .seconds(10))
            let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
            #expect(response.status == .ok, "\(json): \(text)")
        }
        try await waitForHealth()
        let users = (1...50).map { 91_000_000_000_000_000 + UInt64($0) }
        let roles = (1...4).map { 72_000_000_000_000_000 + UInt64($0) }
        for (i, user) in users.enumerated() {
            try await command(#"{"type":"request_link","key":"r\#(i)","user_id":"\#(user)"}"#)
            try await command(
                #"{"type":"confirm_link","key":"c\#(i)","user_id":"\#(user)","kick_user_id":\#(i + 1),"kick_username":"v\#(i)"}"#
            )
        }
        // A message to post as well: a pending shop order told to the staff channel.
        try await command(#"{"type":"set_setting","key":"s","setting":"staff_channel","value":\#(Self.channel)}"#)
        try await command(#"{"type":"adjust_points","key":"p","person":"\#(users[0])","delta":100,"reason":"x"}"#)
        try await command(
            #"{"type":"create_shop_item","key":"i","item_id":1,"name":"VIP","price":10,"stock":-1,"per_person_limit":-1,"limit_window_seconds":0,"requirement_prompt":""}"#
        )
        try await command(#"{"type":"purchase","key":"b","item_id":1,"person":"\#(users[0])","requirement":""}"#)
        for (i, role) in roles.enumerated() {
            try await command(
                #"{"type":"set_role_threshold","key":"t\#(i)","role_id":"\#(role)","name":"T\#(i)","minutes":0}"#)
        }
        // Kill it while the role changes are going out.
        try await Task.sleep(for: .milliseconds(1_500))
        let before = fake.calls.filter { $0.path.contains("/roles/") && $0.status == 204 }.count
        try restart()
        try await waitForHealth()
        let guild = UInt64(Self.guild)!
        for _ in 0..<600 {
            if users.allSatisfy({ fake.roles(guild: guild, user: $0).count == roles.count }) { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        let grants = fake.calls.filter { $0.path.contains("/roles/") && $0.status == 204 }
        #expect(before > 0 && before < users.count * roles.count, "the kill did not land mid-delivery (\(before) sent)")
        for user in users { #expect(fake.roles(guild: guild, user: user).count == roles.count, "user \(user)") }
        // Exactly once in effect: at most the call in flight at the kill went twice.
        let resent = grants.count - Set(grants.map(\.path)).count
        #expect(Set(grants.map(\.path)).count == users.count * roles.count)
        #expect(resent <= 1, "\(resent) role calls were sent twice")
        #expect(fake.messages(in: Self.channel).count == 1)
        print("killed after \(before) of \(users.count * roles.count) role changes; \(resent) resent after the restart")
    }
}
