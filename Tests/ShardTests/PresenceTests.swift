import Domain
import EventLog
import Foundation
import TallyTesting
import Testing

/// A coordinator with a 30 s lease and three shard processes, each holding its presence connection
/// open (`POST /v1/cluster/presence`). SIGKILL one: its connection breaks, the coordinator ends its
/// lease at once, and its partitions are served by the others within seconds — not 30. SIGSTOP
/// another: its connection stays open, so it keeps its partitions (only its lease can end it).
@Suite(.serialized, .timeLimit(.minutes(4))) struct PresenceTests {
    @Test func aKilledShardIsReplacedAtOnceAndAPausedOneKeepsItsPartitions() async throws {
        let temporary = TemporaryDirectory()
        let dir = temporary.path
        let data = try DataDirectory.open(path: dir, creatingWith: 6)
        let token = "presence-token"
        func log(_ name: String) -> String { dir + ".\(name).log" }
        let names = ["coordinator", "shard-1", "shard-2", "shard-3"]
        defer { for name in names { try? FileManager.default.removeItem(atPath: log(name)) } }
        func logs() -> String { names.map { "--- \($0):\n" + tail(log($0)) }.joined(separator: "\n") }
        var processes: [String: Process] = [:]
        defer { for p in processes.values where p.isRunning { kill(p.processIdentifier, SIGKILL) } }

        let (coordinatorProcess, coordinatorPort) = try await startListening(
            { ["coordinator", "--data", dir, "--port", String($0), "--lease-ms", "30000", "--log-level", "info"] },
            token: token, log: log("coordinator"))
        processes["coordinator"] = coordinatorProcess
        let coordinator = "http://127.0.0.1:\(coordinatorPort)"
        var ports: [Int: Int] = [:]
        for i in 1...3 {
            let (process, port) = try await startListening(
                {
                    [
                        "shard", "--coordinator", coordinator, "--data", dir, "--port", String($0), "--name",
                        "shard-\(i)",
                    ]
                },
                token: token, log: log("shard-\(i)"))
            processes["shard-\(i)"] = process
            ports[i] = port
        }
        var owners: [Int: String] = [:]
        for _ in 0..<300 {
            owners = await HTTPProbes.owners(coordinator)
            if owners.count == 6, Set(owners.values).count == 3 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        try #require(Set(owners.values).count == 3, "partitions were not spread: \(owners)\n\(logs())")

        // A guild of a partition shard-3 owns, written to through shard-1.
        let victim = try #require(owners.first { $0.value == "shard-3" }?.key)
        let guild = try #require(
            (1...100_000).lazy.map { GuildID(UInt64(1_300_000_000_000 + $0) << 22) }
                .first { data.partition(for: $0).rawValue == UInt32(victim) })
        var sent = 0
        func command() async -> Int? {
            sent += 1
            return await HTTPProbes.post(
                "http://127.0.0.1:\(ports[1]!)/v1/guilds/\(guild.rawValue)/commands",
                json: """
                    {"type":"adjust_points","key":"presence-\(sent)","person":"1100000000000000001","delta":1,"reason":"test"}
                    """, token: token)
        }
        var status: Int?
        for _ in 0..<100 where status != 200 {
            status = await command()
            if status != 200 { try await Task.sleep(for: .milliseconds(100)) }
        }
        try #require(
            status == 200, "the guild was never served before the kill: \(String(describing: status))\n\(logs())")

        kill(processes["shard-3"]!.processIdentifier, SIGKILL)
        let killed = ContinuousClock.now
        await processes["shard-3"]!.exited()
        status = nil
        while status != 200, killed.duration(to: .now) < .seconds(25) {
            status = await command()
            if status != 200 { try await Task.sleep(for: .milliseconds(50)) }
        }
        let served = killed.duration(to: .now)
        print("presence: a guild of the killed shard served again \(served) after SIGKILL (lease 30 s)")
        #expect(status == 200, "never served again\n\(logs())")
        #expect(
            served < .seconds(10), "served again only after \(served): the lease, not the broken connection\n\(logs())")
        let afterKill = await HTTPProbes.owners(coordinator)
        #expect(!afterKill.values.contains("shard-3"), "the killed shard still owns partitions: \(afterKill)")
        #expect(
            (try? String(contentsOfFile: log("coordinator"), encoding: .utf8))?.contains("presence connection broke")
                == true)

        // A paused shard keeps its connection, so its lease and its partitions (a 30 s lease).
        let paused = afterKill.filter { $0.value == "shard-2" }
        try #require(!paused.isEmpty, "shard-2 owns nothing: \(afterKill)")
        kill(processes["shard-2"]!.processIdentifier, SIGSTOP)
        try await Task.sleep(for: .seconds(3))
        let whilePaused = await HTTPProbes.owners(coordinator)
        kill(processes["shard-2"]!.processIdentifier, SIGCONT)
        #expect(
            whilePaused.filter { $0.value == "shard-2" } == paused,
            "a paused shard lost partitions before its lease ended: \(paused) → \(whilePaused)")

        for p in processes.values where p.isRunning { p.terminate() }
        for p in processes.values { await p.exited() }
        #expect(try runTally(["log", "verify", dir], token: token).status == 0, "the logs are damaged")
    }
}
