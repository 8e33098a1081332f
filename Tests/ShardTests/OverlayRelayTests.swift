import AsyncHTTPClient
import EventLog
import Foundation
import NIOCore
import Synchronization
import TallyTesting
import Testing

/// Overlays in a multi-process cluster: a coordinator and two `tally shard` processes. A page
/// connected to the shard that does not own the guild gets its live updates all the same (the shard
/// relays the stream from the owner, over a call signed with the cluster key), and resumes after a
/// reconnect without a gap or a repeat.
@Suite(.serialized, .timeLimit(.minutes(4))) struct OverlayRelayTests {
    static let token = "relay-token"
    static let guild: UInt64 = 5_033_164_800_000_000_777

    /// The views a stream received, in order: each event's id and data.
    final class Received: Sendable {
        let views = Mutex<[(id: UInt64, data: String)]>([])
        var ids: [UInt64] { views.withLock { $0.map(\.id) } }
    }

    /// Reads the server-sent events at `url` into `received` until cancelled or the stream ends.
    static func read(_ client: HTTPClient, _ url: String, lastEventID: UInt64?, into received: Received) async throws {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Accept", value: "text/event-stream")
        if let lastEventID { request.headers.add(name: "Last-Event-ID", value: String(lastEventID)) }
        let response = try await client.execute(request, timeout: .seconds(120))
        #expect(response.status.code == 200)
        #expect(response.headers.first(name: "Content-Type") == "text/event-stream")
        var text = ""
        for try await chunk in response.body {
            text += String(buffer: chunk)
            while let end = text.range(of: "\n\n") {
                let block = text[..<end.lowerBound].split(separator: "\n")
                text = String(text[end.upperBound...])
                guard block.contains("event: view"),
                    let id = block.first(where: { $0.hasPrefix("id: ") }).flatMap({ UInt64($0.dropFirst(4)) }),
                    let data = block.first(where: { $0.hasPrefix("data: ") })
                else { continue }
                received.views.withLock { $0.append((id, String(data.dropFirst(6)))) }
            }
        }
    }

    static func eventually(_ what: String, seconds: Int = 20, _ condition: () -> Bool) async throws {
        for _ in 0..<(seconds * 20) {
            if condition() { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("timed out waiting for \(what)")
    }

    @Test func aPageOnTheShardThatDoesNotOwnTheGuildGetsLiveUpdatesAndResumes() async throws {
        let temporary = TemporaryDirectory()
        let dir = temporary.path
        let ports = try (0...2).map { _ in try freeLoopbackPort() }
        let coordinator = "http://127.0.0.1:\(ports[0])"
        var processes: [Process] = []
        defer { for p in processes where p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        // The deployment secret first (it creates DIR/secrets.json): two shards starting at once on
        // a directory without one would each make their own.
        let urls = try runTally(["overlay", "urls", "--data", dir, "--guild", String(Self.guild)], token: Self.token)
        let line = try #require(urls.output.split(separator: "\n").first { $0.hasPrefix("leaderboard") })
        let key = try #require(line.split(separator: "key=").last.map(String.init))
        processes.append(
            try startTally(
                ["coordinator", "--data", dir, "--port", String(ports[0]), "--partitions", "4"], token: Self.token))
        try await Task.sleep(for: .milliseconds(500))
        for i in 1...2 {
            processes.append(
                try startTally(
                    [
                        "shard", "--coordinator", coordinator, "--data", dir, "--port", String(ports[i]), "--name",
                        "shard-\(i)",
                    ], token: Self.token))
        }
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            try await scenario(dir: dir, ports: ports, key: key, client: client)
        } catch {
            try await client.shutdown()
            throw error
        }
        try await client.shutdown()
        for p in processes where p.isRunning { p.terminate() }
        for p in processes { await p.exited() }
    }

    private func scenario(dir: String, ports: [Int], key: String, client: HTTPClient) async throws {
        let coordinator = "http://127.0.0.1:\(ports[0])"
        // Wait until both shards hold partitions, and find who owns the guild's.
        let data = try DataDirectory.open(path: dir)
        let partition = Int(data.partition(for: GuildID(Self.guild)).rawValue)
        var owners: [Int: String] = [:]
        for _ in 0..<600 {
            owners = [:]
            if let response = try? await client.execute(
                HTTPClientRequest(url: coordinator + "/v1/cluster"), timeout: .seconds(5)),
                let body = try? await response.body.collect(upTo: 1 << 20),
                let object = try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any]
            {
                for p in object["partitions"] as? [[String: Any]] ?? [] {
                    if let i = p["partition"] as? Int, let o = p["owner"] as? String { owners[i] = o }
                }
            }
            if owners.count == 4, Set(owners.values).count == 2 { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        let owner = try #require(owners[partition], "the guild's partition has no owner: \(owners)")
        let other = owner == "shard-1" ? ports[2] : ports[1]
        let via = "http://127.0.0.1:\(other)"

        func adjust(_ key: String, _ delta: Int) async throws -> UInt64 {
            var request = HTTPClientRequest(url: via + "/v1/guilds/\(Self.guild)/commands")
            request.method = .POST
            request.headers.add(name: "Authorization", value: "Bearer \(Self.token)")
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(
                ByteBuffer(
                    string:
                        #"{"type":"adjust_points","key":"\#(key)","person":"kick:7","delta":\#(delta),"reason":"relay"}"#
                ))
            let response = try await client.execute(request, timeout: .seconds(15))
            let body = try await response.body.collect(upTo: 1 << 20)
            try #require(response.status.code == 200, "\(String(buffer: body))")
            let object = try JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any]
            let events = object?["events"] as? [[String: Any]] ?? []
            return try #require((events.last?["sequence"] as? NSNumber)?.uint64Value)
        }
        let first = try await adjust("a", 100)
        let stream = via + "/overlay/\(Self.guild)/leaderboard/events?key=\(key)"

        // A page on the shard that does not own the guild: its view, then a live update.
        let received = Received()
        var lastSeen: UInt64 = 0
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await Self.read(client, stream, lastEventID: nil, into: received) }
            try await Self.eventually("the first view") { received.ids == [first] }
            let second = try await adjust("b", 50)
            try await Self.eventually("the update") { received.ids == [first, second] }
            #expect(received.views.withLock { $0.last?.data.contains("150") } == true)
            lastSeen = second
            group.cancelAll()
        }

        // The page reconnects with the last id it saw: nothing is repeated, the next change arrives.
        let seen = lastSeen
        let resumed = Received()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await Self.read(client, stream, lastEventID: seen, into: resumed) }
            try await Task.sleep(for: .seconds(2))
            #expect(resumed.ids.isEmpty, "a view the page had was sent again: \(resumed.ids)")
            let third = try await adjust("c", 25)
            try await Self.eventually("the update after resuming") { resumed.ids == [third] }
            #expect(resumed.views.withLock { $0.last?.data.contains("175") } == true)
            group.cancelAll()
        }

        // A page that missed a change while away gets the current view at once (no gap).
        let fourth = try await adjust("d", 5)
        let missed = Received()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await Self.read(client, stream, lastEventID: seen, into: missed) }
            try await Self.eventually("the view the page missed") { missed.ids == [fourth] }
            #expect(missed.views.withLock { $0.last?.data.contains("180") } == true)
            group.cancelAll()
        }

        // A wrong key is refused, relayed or not.
        let refused = try await client.execute(
            HTTPClientRequest(url: via + "/overlay/\(Self.guild)/leaderboard/events?key=00"), timeout: .seconds(10))
        #expect(refused.status.code == 403)
    }
}
