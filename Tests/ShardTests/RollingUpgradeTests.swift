import Foundation
import TallyTesting
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A rolling upgrade as an operator runs one: every process of a cluster (shards and coordinator) is
/// stopped gracefully and started again, one after another, under `tally loadgen`. Two builds cannot
/// be had here, so the "new" build is the same one; what is tested is the procedure: nothing
/// acknowledged is lost or applied twice, and the logs verify. The rule that makes it hold across
/// real versions is in deploy/RUNBOOK.md ("Rolling upgrade").
@Suite(.serialized, .timeLimit(.minutes(6))) struct RollingUpgradeTests {

    @Test func restartingEachProcessInTurnUnderLoadLosesAndDoublesNothing() async throws {
        let temporary = TemporaryDirectory()
        let dir = temporary.path
        let token = "upgrade-token"
        let record = dir + ".acks.jsonl"
        defer { try? FileManager.default.removeItem(atPath: record) }
        var processes: [String: Process] = [:]
        defer { for p in processes.values where p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        // Ports the kernel chose; a restarted process listens where it did before.
        var ports: [String: Int] = [:]
        func start(_ name: String) async throws -> Process {
            let (process, port) = try await startListening(
                {
                    name == "coordinator"
                        ? ["coordinator", "--data", dir, "--port", String($0), "--partitions", "8"]
                        : [
                            "shard", "--coordinator", "http://127.0.0.1:\(ports["coordinator"]!)", "--data", dir,
                            "--port", String($0), "--name", name,
                        ]
                }, token: token, port: ports[name])
            ports[name] = port
            return process
        }
        processes["coordinator"] = try await start("coordinator")
        let coordinator = "http://127.0.0.1:\(ports["coordinator"]!)"
        for i in 1...3 { processes["shard-\(i)"] = try await start("shard-\(i)") }
        // Up to 30 s: three processes start and heartbeat on a loaded two-core machine.
        for _ in 0..<300 {
            if Set(await HTTPProbes.owners(coordinator).values).count == 3 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(Set(await HTTPProbes.owners(coordinator).values).count == 3)

        let output = Pipe()
        let seconds = 20
        processes["loadgen"] = try startTally(
            [
                "loadgen", "--url", "http://127.0.0.1:\(ports["shard-1"]!)", "--guilds", "16", "--people", "30",
                "--rate",
                "100", "--duration", String(seconds), "--record", record,
            ],
            token: token, output: output.fileHandleForWriting)
        // Upgrade order: the shards loadgen does not talk to, the coordinator, then the one it does.
        for name in ["shard-2", "shard-3", "coordinator", "shard-1"] {
            try await Task.sleep(for: .seconds(2))
            let process = processes[name]!
            process.terminate()  // SIGTERM: drain, release (snapshot, unlock), report, exit
            await process.exited()
            #expect(process.terminationStatus == 0, "\(name) did not stop cleanly")
            processes[name] = try await start(name)
            // Back in service: the coordinator answers, or the shard holds partitions again.
            for _ in 0..<100 {
                let owners = await HTTPProbes.owners(coordinator)
                if name == "coordinator" ? !owners.isEmpty : owners.values.contains(name) { break }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        await processes["loadgen"]!.exited()
        try output.fileHandleForWriting.close()
        let summary = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let acknowledged = (try? String(contentsOfFile: record, encoding: .utf8))?.split(separator: "\n").count ?? 0
        #expect(acknowledged > 100 * seconds / 2, "too little was acknowledged: \(summary)")
        print("rolling upgrade load: \(summary.replacingOccurrences(of: "\n", with: "; "))")

        let verify = try runTally(
            ["loadgen", "--url", "http://127.0.0.1:\(ports["shard-2"]!)", "--verify-only", "--record", record],
            token: token)
        #expect(verify.status == 0, "verification failed: \(verify.output) (load: \(summary))")
        print("rolling upgrade verify: \(verify.output.replacingOccurrences(of: "\n", with: "; "))")

        for p in processes.values where p.isRunning { p.terminate() }
        for p in processes.values { await p.exited() }
        let logVerify = try runTally(["log", "verify", dir], token: token)
        #expect(logVerify.status == 0, "the logs are damaged: \(logVerify.output)")
    }
}
