import Foundation
import TallyTesting
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// PostgreSQL mode with machines simulated honestly: a coordinator pair (one active by an advisory
/// lock, one standing by) and three shard processes, each with a data directory of its own (the same
/// secrets.json copied into each, nothing else shared), against one PostgreSQL server of the test's
/// own, under load. A shard is SIGKILLed, another SIGSTOPped past its lease and resumed, the active
/// coordinator SIGKILLed and PostgreSQL itself restarted (`pg_ctl restart -m fast`). Every acknowledged
/// command must be present exactly once, `tally log verify --store` must be clean, the only errors
/// the load may see are 503s with `Retry-After`, and every partition that changed hands must have a
/// higher epoch.
@Suite(.serialized, .timeLimit(.minutes(4))) struct PostgresClusterChaosTests {
    static let token = "pg-chaos-token"

    /// Whether a command through `port` is acknowledged now (it writes to PostgreSQL).
    func commandStatus(port: Int, key: String) async -> Int? {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/v1/guilds/\(Self.probeGuild)/commands")!)
        request.httpMethod = "POST"
        request.timeoutInterval = 3
        request.setValue("Bearer \(Self.token)", forHTTPHeaderField: "Authorization")
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(
            #"{"type":"adjust_points","key":"\#(key)","person":"\#(Self.probePerson)","delta":1,"reason":"\#(key)"}"#
                .utf8)
        guard let (_, response) = try? await URLSession.shared.data(for: request) else { return nil }
        return (response as? HTTPURLResponse)?.statusCode
    }

    /// A guild no load touches, for probing whether commands are acknowledged.
    static let probeGuild = String((UInt64(1_300_000_009_999) << 22) | 7)
    static let probePerson = String((UInt64(1_200_000_009_999) << 22) | 3)

    @Test func shardsCoordinatorAndPostgresFailingUnderLoadLoseNothing() async throws {
        let started = ContinuousClock.now
        // A server of this test's own: restarting it must not disturb other tests' databases.
        let server = try PostgresServer.start()
        defer { server.stop() }
        let database = try server.createDatabase("pgchaos")
        let temporary = TemporaryDirectory()
        let record = temporary.sub("acks.jsonl")
        let token = Self.token
        func log(_ name: String) -> String { temporary.sub("\(name).log") }
        let names = ["coordinator-1", "coordinator-2", "shard-1", "shard-2", "shard-3", "loadgen"]
        // TALLY_CHAOS_LOGS=DIR keeps every process's log there when the test ends.
        defer {
            if let keep = ProcessInfo.processInfo.environment["TALLY_CHAOS_LOGS"] {
                try? FileManager.default.createDirectory(atPath: keep, withIntermediateDirectories: true)
                for name in names + ["acks"] {
                    let file = name == "acks" ? record : log(name)
                    let target = keep + "/" + URL(fileURLWithPath: file).lastPathComponent
                    try? FileManager.default.removeItem(atPath: target)
                    try? FileManager.default.copyItem(atPath: file, toPath: target)
                }
            }
        }
        func tails() -> String {
            names.map { "--- \($0):\n" + tail(log($0), lines: 20) }.joined(separator: "\n")
                + "\n--- postgres:\n" + tail(server.logFile, lines: 20)
        }

        // Each machine's data directory, with the same secrets.json copied into each before start.
        let machines = (1...3).map { temporary.sub("machine-\($0)") }
        let secret = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        let secrets = temporary.sub("secrets.json")
        try "{\"operator_token\": \"\(token)\", \"raffle_secret\": \"\(secret)\"}\n".write(
            toFile: secrets, atomically: true, encoding: .utf8)
        for machine in machines {
            try FileManager.default.createDirectory(atPath: machine, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: secrets, toPath: machine + "/secrets.json")
            chmod(machine + "/secrets.json", 0o600)
        }

        var processes: [String: Process] = [:]
        defer { for p in processes.values where p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        var coordinatorPorts: [Int] = []
        func coordinator(_ i: Int, port fixed: Int? = nil) async throws -> Process {
            let (process, port) = try await startListening(
                {
                    [
                        "coordinator", "--store", database.dsn, "--partitions", "8", "--port", String($0), "--name",
                        "coordinator-\(i)",
                    ]
                }, token: token, port: fixed, log: log("coordinator-\(i)"))
            if fixed == nil { coordinatorPorts.append(port) }
            return process
        }
        processes["coordinator-1"] = try await coordinator(1)
        // The first takes the lock before the second starts, so which one to kill is known.
        var firstActive = false
        for _ in 0..<300 where !firstActive {
            firstActive = await HTTPProbes.status("http://127.0.0.1:\(coordinatorPorts[0])/ready") == 200
            if !firstActive { try await Task.sleep(for: .milliseconds(100)) }
        }
        try #require(firstActive, "the first coordinator never became active\n\(tails())")
        processes["coordinator-2"] = try await coordinator(2)
        let coordinators = coordinatorPorts.map { "http://127.0.0.1:\($0)" }

        var shardPorts: [Int: Int] = [:]
        for i in 1...3 {
            let (process, port) = try await startListening(
                {
                    [
                        "shard", "--coordinator", coordinators.joined(separator: ","), "--data", machines[i - 1],
                        "--port", String($0), "--name", "shard-\(i)", "--store", database.dsn, "--partitions", "8",
                    ]
                }, token: token, log: log("shard-\(i)"))
            processes["shard-\(i)"] = process
            shardPorts[i] = port
        }
        // Settled: spread over the three shards and no handoff in flight (up to 30 s on a loaded machine).
        var before = await HTTPProbes.assignments(coordinators[0])
        for _ in 0..<300 {
            if Set(before.values.map(\.owner)).count == 3 {
                try await Task.sleep(for: .milliseconds(300))
                let now = await HTTPProbes.assignments(coordinators[0])
                if now == before { break }
                before = now
            } else {
                try await Task.sleep(for: .milliseconds(100))
                before = await HTTPProbes.assignments(coordinators[0])
            }
        }
        try #require(Set(before.values.map(\.owner)).count == 3, "partitions were not spread: \(before)\n\(tails())")
        #expect(await HTTPProbes.status(coordinators[1] + "/ready") == 503, "the second coordinator is not standing by")

        // The load goes to shard-1, which is never killed or stopped; it forwards to the others.
        let seconds = 36
        FileManager.default.createFile(atPath: log("loadgen"), contents: nil)
        let loadgenOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: log("loadgen")))
        processes["loadgen"] = try startTally(
            [
                "loadgen", "--url", "http://127.0.0.1:\(shardPorts[1]!)", "--guilds", "16", "--people", "30",
                "--rate", "100", "--duration", String(seconds), "--record", record,
            ], token: token, output: loadgenOutput)
        try loadgenOutput.close()
        let loadStarted = ContinuousClock.now

        // 1. SIGKILL shard-3 (for good: a machine lost).
        try await Task.sleep(for: .seconds(3))
        kill(processes["shard-3"]!.processIdentifier, SIGKILL)
        await processes["shard-3"]!.exited()

        // 2. SIGSTOP shard-2 past its 5 s lease, then resume it: its partitions have moved on and
        //    whatever it still tries to append must be refused by the database.
        try await Task.sleep(for: .seconds(5))
        kill(processes["shard-2"]!.processIdentifier, SIGSTOP)
        try await Task.sleep(for: .milliseconds(6_500))
        kill(processes["shard-2"]!.processIdentifier, SIGCONT)

        // 3. SIGKILL the active coordinator; the standby must serve; the killed one returns as standby.
        try await Task.sleep(for: .seconds(3))
        kill(processes["coordinator-1"]!.processIdentifier, SIGKILL)
        let killed = ContinuousClock.now
        await processes["coordinator-1"]!.exited()
        var takeover: Duration?
        while takeover == nil, killed.duration(to: .now) < .seconds(20) {
            if await HTTPProbes.status(coordinators[1] + "/ready") == 200 {
                takeover = killed.duration(to: .now)
            } else {
                try await Task.sleep(for: .milliseconds(25))
            }
        }
        processes["coordinator-1"] = try await coordinator(1, port: coordinatorPorts[0])

        // 4. Restart PostgreSQL itself mid-load, then time until a command is acknowledged again.
        try await Task.sleep(for: .seconds(2))
        let restartBegan = ContinuousClock.now
        try await Task.detached { try server.restart(mode: "fast") }.value
        let restartTook = restartBegan.duration(to: .now)
        var recovered: Duration?
        var probe = 0
        var probed: [String] = []
        while recovered == nil, restartBegan.duration(to: .now) < .seconds(30) {
            probe += 1
            let answer = await commandStatus(port: shardPorts[1]!, key: "pg-chaos-probe-\(probe)")
            probed.append(answer.map(String.init) ?? "-")
            if answer == 200 {
                recovered = restartBegan.duration(to: .now)
            } else {
                try await Task.sleep(for: .milliseconds(100))
            }
        }

        await processes["loadgen"]!.exited()
        let loadTook = loadStarted.duration(to: .now)
        let summary = tail(log("loadgen"), lines: 10)
        print("postgres chaos load: \(summary.replacingOccurrences(of: "\n", with: "; "))")
        print("coordinator takeover after SIGKILL: \(takeover.map { "\($0)" } ?? "never")")
        print(
            "postgres restart: pg_ctl took \(restartTook), commands acknowledged again after \(recovered.map { "\($0)" } ?? "never")"
        )
        #expect(processes["loadgen"]!.terminationStatus == 0, "loadgen failed: \(summary)\n\(tails())")
        #expect(loadTook < .seconds(seconds + 20), "the load ran long: \(loadTook)")
        let tookOver = try #require(takeover, "the standby never took over\n\(tails())")
        #expect(tookOver < .seconds(10), "the standby took longer than two leases: \(tookOver)\n\(tails())")
        #expect(recovered != nil, "no command was acknowledged after PostgreSQL restarted: \(probed)\n\(tails())")

        // What was acknowledged, and what failed: only 503s carrying Retry-After, never another answer.
        let acknowledged = (try? String(contentsOfFile: record, encoding: .utf8))?.split(separator: "\n").count ?? 0
        #expect(acknowledged > 100 * seconds / 3, "too little was acknowledged: \(summary)\n\(tails())")
        let errorLine = try #require(
            summary.split(separator: "\n").first { $0.hasPrefix("acknowledged ") }, "no summary: \(summary)")
        let errorKinds = errorLine.components(separatedBy: "errors ").last?.split(separator: " ", maxSplits: 1)
        let errorCount = Int(errorKinds?.first ?? "") ?? -1
        let kinds = (errorKinds?.dropFirst().first).map { String($0) } ?? ""
        let kindsSeen = kinds.split(separator: ",").map {
            $0.split(separator: ":")[0].trimmingCharacters(in: .whitespaces)
        }
        #expect(errorCount >= 0, "unreadable summary: \(errorLine)")
        #expect(
            kindsSeen.allSatisfy { $0 == "HTTP 503" },
            "errors other than 503 with Retry-After: \(errorLine)\n\(tails())")

        // The cluster settles: every partition owned by a live shard.
        // Either coordinator may be the active one now (PostgreSQL's restart closed the lock's connection).
        func active() async -> [Int: HTTPProbes.Assignment] {
            for coordinator in coordinators {
                let assignments = await HTTPProbes.assignments(coordinator)
                if !assignments.isEmpty { return assignments }
            }
            return [:]
        }
        var after = await active()
        for _ in 0..<200 {
            if !after.isEmpty, Set(after.values.map(\.owner)).isSubset(of: ["shard-1", "shard-2"]) { break }
            try await Task.sleep(for: .milliseconds(100))
            after = await active()
        }
        #expect(
            !after.isEmpty && Set(after.values.map(\.owner)).isSubset(of: ["shard-1", "shard-2"]),
            "partitions still on the killed shard: \(after)\n\(tails())")

        // The paused shard, resumed, tried to append what it had been sent meanwhile with its old
        // epoch: the database refused it.
        let pausedLog = (try? String(contentsOfFile: log("shard-2"), encoding: .utf8)) ?? ""
        #expect(
            pausedLog.contains("stale_epoch"),
            "the resumed shard's appends were not refused by the database\n\(tail(log("shard-2"), lines: 40))")

        let verify = try runTally(
            ["loadgen", "--url", "http://127.0.0.1:\(shardPorts[1]!)", "--verify-only", "--record", record],
            token: token)
        #expect(verify.status == 0, "verification failed: \(verify.output) (load: \(summary))\n\(tails())")

        // Shards stop first (they release what they hold to a coordinator that still answers); each
        // must stop on SIGTERM within 30 s.
        for name in ["shard-1", "shard-2", "coordinator-1", "coordinator-2"] {
            guard let process = processes[name], process.isRunning else { continue }
            process.terminate()
            let asked = ContinuousClock.now
            while process.isRunning, asked.duration(to: .now) < .seconds(30) {
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(!process.isRunning, "\(name) did not stop within 30 s of SIGTERM\n\(tails())")
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            await process.exited()
        }
        for machine in machines {
            let files = (FileManager.default.enumerator(atPath: machine + "/partitions")?.allObjects as? [String]) ?? []
            #expect(files.isEmpty, "log files on \(machine): \(files)")
        }
        let logVerify = try TallyProcess.run(["log", "verify", "--store", database.dsn])
        #expect(logVerify.status == 0, "tally log verify --store: \(logVerify.output)")

        // Every partition that changed hands carries a higher epoch, at the coordinator and in the database.
        let epochs = try server.psql(
            "SELECT string_agg(partition || '=' || epoch, ',') FROM tally_partitions", database: database)
        let stored: [Int: Int] = Dictionary(
            uniqueKeysWithValues: epochs.split(whereSeparator: { ", \n".contains($0) }).compactMap { pair in
                let parts = pair.split(separator: "=")
                guard parts.count == 2, let p = Int(parts[0]), let e = Int(parts[1]) else { return nil }
                return (p, e)
            })
        var moved = 0
        for (partition, now) in after where before[partition]?.owner != now.owner {
            moved += 1
            let then = before[partition]?.epoch ?? 0
            #expect(now.epoch > then, "partition \(partition) changed hands without a higher epoch: \(then) → \(now)")
            if let inStore = stored[partition] {
                #expect(inStore > then, "partition \(partition) is at epoch \(inStore) in the store, was \(then)")
            }
        }
        #expect(moved > 0, "no partition changed hands: \(before) → \(after)")
        print(
            "postgres chaos: \(moved) partitions moved; epochs in the store "
                + "\(stored.sorted { $0.key < $1.key }.map { "p\($0.key)@\($0.value)" }); "
                + "whole test \(started.duration(to: .now))"
        )
    }
}
