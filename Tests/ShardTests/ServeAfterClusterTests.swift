import Foundation
import TallyTesting
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Real processes: a data directory served by `tally cluster` (a coordinator and two shard processes,
/// signing their calls with a key `tally cluster` generated) is then served by `tally serve --shards 1`,
/// which must start and serve every guild.
@Suite(.serialized, .timeLimit(.minutes(3))) struct ServeAfterClusterTests {
    static let token = "serve-after-cluster-token"
    /// Guilds in each of a 4-partition directory's partitions.
    static let guilds = ["5033164800000000000", "5033164833214693377", "5033164866429386754", "5033164899643092995"]

    static func send(_ method: String, _ url: String, body: String? = nil) async -> (Int, String) {
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = method
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        request.httpBody = body.map { Data($0.utf8) }
        guard let (data, response) = try? await URLSession.shared.data(for: request) else { return (0, "") }
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    /// Waits until `process` exits (SIGKILL after 20 s).
    static func stop(_ process: Process) async throws {
        process.terminate()
        for _ in 0..<200 where process.isRunning { try await Task.sleep(for: .milliseconds(100)) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        await process.exited()
    }

    @Test func serveWithOneShardServesEveryGuildADirectoryLastServedByTallyCluster() async throws {
        let dir = TemporaryDirectory()
        let coordinatorPort = try freeLoopbackPort()
        let shardPort = try freeLoopbackPort()
        // An empty TALLY_CLUSTER_KEY: `tally cluster` generates the key its processes share.
        let cluster = try startTally(
            [
                "cluster", "--shards", "2", "--data", dir.path, "--partitions", "4", "--port", String(shardPort),
                "--coordinator-port", String(coordinatorPort),
            ], token: Self.token, environment: ["TALLY_CLUSTER_KEY": ""])
        defer { if cluster.isRunning { kill(cluster.processIdentifier, SIGKILL) } }
        // Every guild's command through the first shard (forwarded, signed, to the owner when it is the other).
        for guild in Self.guilds {
            var status = 0
            for _ in 0..<100 where status != 200 {
                (status, _) = await Self.send(
                    "POST", "http://127.0.0.1:\(shardPort)/v1/guilds/\(guild)/commands",
                    body:
                        #"{"type":"adjust_points","key":"k","person":"1100000000000000001","delta":5,"reason":"r"}"#
                )
                if status != 200 { try await Task.sleep(for: .milliseconds(200)) }
            }
            #expect(status == 200, "guild \(guild) was not served by the cluster")
        }
        // The second shard may register after the first has served every guild: wait for it.
        var view = ""
        for _ in 0..<100 {
            (_, view) = await Self.send("GET", "http://127.0.0.1:\(coordinatorPort)/v1/cluster")
            if view.contains("shard-1") && view.contains("shard-2") { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(view.contains("shard-1") && view.contains("shard-2"), "\(view)")
        try await Self.stop(cluster)

        let servePort = try freeLoopbackPort()
        let serve = try startTally(
            ["serve", "--shards", "1", "--data", dir.path, "--port", String(servePort)], token: Self.token)
        defer { if serve.isRunning { kill(serve.processIdentifier, SIGKILL) } }
        for guild in Self.guilds {
            var answer = (0, "")
            for _ in 0..<100 {
                answer = await Self.send(
                    "GET", "http://127.0.0.1:\(servePort)/v1/guilds/\(guild)/people/1100000000000000001")
                if answer.0 == 200 || !serve.isRunning { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(serve.isRunning, "tally serve --shards 1 exited")
            #expect(answer.0 == 200 && answer.1.contains("\"points\":5"), "guild \(guild): \(answer)")
        }
        try await Self.stop(serve)
        #expect(serve.terminationStatus == 0)
    }
}
