import EventLog
import Foundation
import TallyTesting
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Two coordinators sharing their state in a real PostgreSQL, three shard processes that know
/// both, under load: the active coordinator is SIGKILLed. The standby must take over within a
/// lease, every partition must keep its owner and epoch (the takeover moves nothing), and every
/// acknowledged command must be present.
@Suite(.serialized, .timeLimit(.minutes(6))) struct CoordinatorFailoverTests {
    @Test func theStandbyTakesOverWithinALeaseAndMovesNothing() async throws {
        let database = try PostgresServer.shared().createDatabase("coordinatorfailover")
        let temporary = TemporaryDirectory()
        let dir = temporary.path
        _ = try DataDirectory.open(path: dir, creatingWith: 8)
        let ports = try (0..<5).map { _ in try freeLoopbackPort() }
        let token = "failover-token"
        let coordinators = ports[0...1].map { "http://127.0.0.1:\($0)" }
        let record = dir + ".acks.jsonl"
        defer { try? FileManager.default.removeItem(atPath: record) }

        var processes: [String: Process] = [:]
        defer { for p in processes.values where p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        func coordinator(_ i: Int) throws -> Process {
            try startTally(
                [
                    "coordinator", "--store", database.dsn, "--partitions", "8", "--port", String(ports[i]), "--name",
                    "coordinator-\(i + 1)",
                ], token: token)
        }
        processes["coordinator-1"] = try coordinator(0)
        // The first takes the lock before the second starts, so which one to kill is known.
        var firstActive = false
        for _ in 0..<300 where !firstActive {
            firstActive = await HTTPProbes.status(coordinators[0] + "/ready") == 200
            if !firstActive { try await Task.sleep(for: .milliseconds(100)) }
        }
        try #require(firstActive, "the first coordinator never became active")
        processes["coordinator-2"] = try coordinator(1)
        // Each process's output in a file, shown when the test fails.
        func log(_ name: String) -> FileHandle? {
            FileManager.default.createFile(atPath: dir + ".\(name).log", contents: nil)
            return FileHandle(forWritingAtPath: dir + ".\(name).log")
        }
        defer {
            for name in ["shard-1", "shard-2", "shard-3"] {
                try? FileManager.default.removeItem(atPath: dir + ".\(name).log")
            }
        }
        for i in 1...3 {
            // The first shard writes the data directory's secrets.json; the others start once it has
            // (shards starting together on a fresh directory race to create it).
            if i == 2 {
                for _ in 0..<300 {
                    if await HTTPProbes.status("http://127.0.0.1:\(ports[2])/health") == 200 { break }
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
            processes["shard-\(i)"] = try startTally(
                [
                    "shard", "--coordinator", coordinators.joined(separator: ","), "--data", dir, "--port",
                    String(ports[1 + i]), "--name", "shard-\(i)",
                ], token: token, output: log("shard-\(i)"))
        }
        func logs() -> String {
            ["shard-1", "shard-2", "shard-3"].map { name in
                let text = (try? String(contentsOfFile: dir + ".\(name).log", encoding: .utf8)) ?? ""
                return "\(name): " + text.split(separator: "\n").suffix(15).joined(separator: "\n")
            }.joined(separator: "\n")
        }
        for _ in 0..<300 {
            if Set(await HTTPProbes.assignments(coordinators[0]).values.map(\.owner)).count == 3 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        // Settled: spread over the three shards and no handoff in flight.
        var before = await HTTPProbes.assignments(coordinators[0])
        for _ in 0..<50 {
            try await Task.sleep(for: .milliseconds(200))
            let now = await HTTPProbes.assignments(coordinators[0])
            if now == before { break }
            before = now
        }
        #expect(
            Set(before.values.map(\.owner)).count == 3,
            "partitions were not spread: \(before)\n\(logs())")
        #expect(await HTTPProbes.status(coordinators[1] + "/ready") == 503, "the second coordinator is not standing by")
        #expect(await HTTPProbes.status(coordinators[1] + "/v1/cluster") == 503)

        let output = Pipe()
        processes["loadgen"] = try startTally(
            [
                "loadgen", "--url", "http://127.0.0.1:\(ports[2])", "--guilds", "16", "--people", "30", "--rate", "120",
                "--duration", "14", "--record", record,
            ],
            token: token, output: output.fileHandleForWriting)
        try await Task.sleep(for: .seconds(3))

        kill(processes["coordinator-1"]!.processIdentifier, SIGKILL)
        let killed = ContinuousClock.now
        await processes["coordinator-1"]!.exited()
        var takeover: Duration?
        for _ in 0..<200 where takeover == nil {
            if await HTTPProbes.status(coordinators[1] + "/ready") == 200 {
                takeover = killed.duration(to: .now)
            } else {
                try await Task.sleep(for: .milliseconds(25))
            }
        }
        let tookOver = try #require(takeover, "the standby never took over")
        print("coordinator takeover after SIGKILL of the active one: \(tookOver)")
        #expect(tookOver < .seconds(5), "the standby took longer than a lease: \(tookOver)")

        // The killed one comes back as a standby.
        processes["coordinator-1"] = try coordinator(0)

        await processes["loadgen"]!.exited()
        try output.fileHandleForWriting.close()
        let summary = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        print("failover load: \(summary.replacingOccurrences(of: "\n", with: "; "))")
        let acknowledged = (try? String(contentsOfFile: record, encoding: .utf8))?.split(separator: "\n").count ?? 0
        #expect(acknowledged > 120 * 14 / 2, "too little was acknowledged: \(summary)")

        // No partition moved and no epoch rose because of the takeover (the shards kept their leases).
        let after = await HTTPProbes.assignments(coordinators[1])
        #expect(after == before, "the takeover moved partitions: before \(before), after \(after)")
        #expect(
            await HTTPProbes.status(coordinators[0] + "/ready") == 503, "the restarted coordinator did not stand by")

        let verify = try runTally(
            ["loadgen", "--url", "http://127.0.0.1:\(ports[3])", "--verify-only", "--record", record], token: token)
        #expect(verify.status == 0, "verification failed: \(verify.output) (load: \(summary))")

        for p in processes.values where p.isRunning { p.terminate() }
        for p in processes.values { await p.exited() }
        #expect(try runTally(["log", "verify", dir], token: token).status == 0, "the logs are damaged")
    }
}
