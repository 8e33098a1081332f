import Foundation
import TallyTesting
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A coordinator and three shard processes under load: a shard is SIGKILLed and restarted and a
/// fourth joins. Every acknowledged command must be reflected exactly once, the logs must verify,
/// and every partition that changed hands must carry a higher epoch. Longer with TALLY_CHAOS_ROUNDS.
@Suite(.serialized, .timeLimit(.minutes(8))) struct ClusterChaosTests {
    func start(_ arguments: [String], token: String, output: FileHandle? = nil) throws -> Process {
        try startTally(arguments, token: token, output: output)
    }

    @Test func failoverJoinAndRestartLoseNothingAndRaiseEpochs() async throws {
        let temporary = TemporaryDirectory()
        let dir = temporary.path
        let token = "chaos-token"
        let record = dir + ".acks.jsonl"
        defer { try? FileManager.default.removeItem(atPath: record) }
        let rounds = Int(ProcessInfo.processInfo.environment["TALLY_CHAOS_ROUNDS"] ?? "") ?? 1

        // Each process logs to a file of its own (shown when the cluster does not form) and gets a
        // port the kernel chose (started again on another if that one was taken meanwhile).
        func log(_ name: String) -> String { dir + ".\(name).log" }
        defer {
            for name in ["coordinator"] + (1...4).map({ "shard-\($0)" }) {
                try? FileManager.default.removeItem(atPath: log(name))
            }
        }
        var processes: [String: Process] = [:]
        defer { for p in processes.values where p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        let (coordinatorProcess, coordinatorPort) = try await startListening(
            { ["coordinator", "--data", dir, "--port", String($0), "--partitions", "8"] }, token: token,
            log: log("coordinator"))
        processes["coordinator"] = coordinatorProcess
        let coordinator = "http://127.0.0.1:\(coordinatorPort)"
        var ports: [Int: Int] = [:]
        func shard(_ i: Int) async throws -> Process {
            let (process, port) = try await startListening(
                {
                    [
                        "shard", "--coordinator", coordinator, "--data", dir, "--port", String($0), "--name",
                        "shard-\(i)",
                    ]
                },
                token: token, log: log("shard-\(i)"))
            ports[i] = port
            return process
        }
        for i in 1...3 { processes["shard-\(i)"] = try await shard(i) }
        // Wait until the coordinator has spread the partitions over the three shards.
        // Up to 30 s: three processes start and heartbeat on a loaded two-core machine.
        for _ in 0..<300 {
            if Set(await HTTPProbes.owners(coordinator).values).count == 3 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let before = await HTTPProbes.owners(coordinator)
        #expect(
            Set(before.values).count == 3,
            """
            partitions were not spread: \(before)
            \(["coordinator", "shard-1", "shard-2", "shard-3"].map { "--- \($0):\n" + tail(log($0)) }.joined(separator: "\n"))
            """)

        let output = Pipe()
        let seconds = 6 + 6 * rounds
        processes["loadgen"] = try start(
            [
                "loadgen", "--url", "http://127.0.0.1:\(ports[1]!)", "--guilds", "16", "--people", "30", "--rate",
                "120",
                "--duration", String(seconds), "--record", record,
            ],
            token: token, output: output.fileHandleForWriting)
        var joined = false
        for round in 0..<rounds {
            try await Task.sleep(for: .seconds(2))
            // SIGKILL a random shard that is not the one loadgen talks to, and bring it back later.
            let victim = Int.random(in: 2...3)
            kill(processes["shard-\(victim)"]!.processIdentifier, SIGKILL)
            await processes["shard-\(victim)"]!.exited()
            try await Task.sleep(for: .seconds(2))
            if round == 0 {
                processes["shard-4"] = try await shard(4)  // a fourth joins
                for _ in 0..<50 {
                    if await HTTPProbes.owners(coordinator).values.contains("shard-4") { joined = true; break }
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
            processes["shard-\(victim)"] = try await shard(victim)
            try await Task.sleep(for: .seconds(2))
        }
        // A shard leaves for good (SIGTERM: it releases what it holds); its partitions move on.
        processes["shard-4"]!.terminate()
        await processes["shard-4"]!.exited()
        await processes["loadgen"]!.exited()
        try output.fileHandleForWriting.close()
        let summary = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let acknowledged = (try? String(contentsOfFile: record, encoding: .utf8))?.split(separator: "\n").count ?? 0
        // Availability dips while a lost shard's lease runs out; what must hold is exactly-once for what was acknowledged.
        #expect(acknowledged > 120 * seconds / 4, "too little was acknowledged: \(summary)")
        print("chaos load: \(summary.replacingOccurrences(of: "\n", with: "; "))")

        // Let the cluster settle (the departed shard's lease runs out), then verify every
        // acknowledged command through any shard.
        for _ in 0..<100 {
            if !(await HTTPProbes.owners(coordinator).values.contains("shard-4")) { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let verify = try runTally(
            ["loadgen", "--url", "http://127.0.0.1:\(ports[1]!)", "--verify-only", "--record", record], token: token)
        #expect(verify.status == 0, "verification failed: \(verify.output) (load: \(summary))")
        let after = await HTTPProbes.owners(coordinator)
        #expect(
            Set(after.values) == ["shard-1", "shard-2", "shard-3"], "the departed shard still owns partitions: \(after)"
        )
        #expect(joined, "the fourth shard never took partitions")

        for p in processes.values where p.isRunning { p.terminate() }
        for p in processes.values { await p.exited() }
        #expect(try runTally(["log", "verify", dir], token: token).status == 0, "the logs are damaged")
        // Every partition that changed hands was fenced at a higher epoch than its first owner's.
        for (partition, owner) in after where before[partition] != owner {
            // Partitions are acquired on first use; one no request touched has no log to fence.
            let path = dir + "/partitions/p" + String(format: "%05d", partition) + "/manifest.json"
            guard let manifest = FileManager.default.contents(atPath: path) else { continue }
            let fence =
                (try JSONSerialization.jsonObject(with: manifest) as? [String: Any])?["fencedEpoch"] as? Int ?? 0
            #expect(
                fence >= 2,
                "partition \(partition) moved from \(before[partition] ?? "-") to \(owner) without a new epoch")
        }
    }
}
