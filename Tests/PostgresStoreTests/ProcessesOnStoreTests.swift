import Foundation
import TallyTesting
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Real `tally serve` and `tally shard` processes with their logs in the test PostgreSQL: killed under
/// load, moved between machines (processes with data directories of their own), dumped and restored.
@Suite(.serialized, .timeLimit(.minutes(8))) struct ProcessesOnStoreTests {
    static let token = "store-test-token"

    /// Starts `tally` with the operator token and the cluster key in its environment, its output in `log`.
    func start(_ arguments: [String], log: String? = nil) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: TallyProcess.binary)
        p.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["TALLY_OPERATOR_TOKEN"] = Self.token
        environment["TALLY_CLUSTER_KEY"] = "test-cluster-key-0123456789abcdef0123456789abcdef"
        environment["TALLY_STORE"] = nil
        p.environment = environment
        if let log {
            FileManager.default.createFile(atPath: log, contents: nil)
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
            handle.seekToEndOfFile()
            p.standardOutput = handle
            p.standardError = handle
        } else {
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
        }
        try p.run()
        return p
    }

    /// Runs `tally` to its end.
    func run(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        try await Task.detached { try TallyProcess.run(arguments, environment: ["TALLY_OPERATOR_TOKEN": Self.token]) }
            .value
    }

    func waitForHealth(port: Int) async {
        let up = await HTTPProbes.waitForHealth(port: port, seconds: 30)
        #expect(up, "the server did not come up on port \(port)")
    }

    /// Starts `tally loadgen` against `port` with `arguments`, its output into `output`.
    func startLoadgen(port: Int, _ arguments: [String], output: Pipe) throws -> Process {
        let loadgen = Process()
        loadgen.executableURL = URL(fileURLWithPath: TallyProcess.binary)
        loadgen.arguments = ["loadgen", "--url", "http://127.0.0.1:\(port)"] + arguments
        loadgen.environment = ProcessInfo.processInfo.environment.merging(["TALLY_OPERATOR_TOKEN": Self.token]) { $1 }
        loadgen.standardOutput = output.fileHandleForWriting
        loadgen.standardError = output.fileHandleForWriting
        try loadgen.run()
        return loadgen
    }

    /// Files under `directory/partitions`: with the logs in PostgreSQL there must be none.
    func logFiles(_ directory: String) -> [String] {
        (FileManager.default.enumerator(atPath: directory + "/partitions")?.allObjects as? [String]) ?? []
    }

    /// Writes the same secrets.json into each directory, as an operator copies it to every machine.
    func shareSecrets(_ directories: [String]) throws {
        let secret = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        let json = "{\"operator_token\": \"\(Self.token)\", \"raffle_secret\": \"\(secret)\"}\n"
        for directory in directories {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try json.write(toFile: directory + "/secrets.json", atomically: true, encoding: .utf8)
            chmod(directory + "/secrets.json", 0o600)
        }
    }

    @Test func aServerOnTheStoreKilledMidLoadLosesNothingAndItsDumpRestoresIntoAFreshDatabase() async throws {
        let server = try PostgresServer.shared()
        let database = try server.createDatabase()
        let temporary = TemporaryDirectory()
        let dir = temporary.sub("data")
        let port = try freeLoopbackPort()
        let record = temporary.sub("acks.jsonl")
        let serve = ["serve", "--data", dir, "--port", String(port), "--partitions", "4", "--store", database.dsn]

        var process = try start(serve, log: temporary.sub("serve-1.log"))
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        await waitForHealth(port: port)
        let output = Pipe()
        let loadgen = try startLoadgen(
            port: port,
            ["--guilds", "12", "--people", "40", "--rate", "300", "--duration", "5", "--record", record],
            output: output)
        // Kill the server without warning in the middle of the load, then bring it back.
        try await Task.sleep(for: .milliseconds(1_500))
        kill(process.processIdentifier, SIGKILL)
        await process.exited()
        try await Task.sleep(for: .milliseconds(300))
        process = try start(serve, log: temporary.sub("serve-2.log"))
        await waitForHealth(port: port)
        await loadgen.exited()
        try output.fileHandleForWriting.close()
        let summary = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(loadgen.terminationStatus == 0, "\(summary)")
        let acknowledged = (try? String(contentsOfFile: record, encoding: .utf8))?.split(separator: "\n").count ?? 0
        #expect(acknowledged > 300, "too little was acknowledged to test anything: \(summary)")
        #expect(!summary.contains("errors 0"), "the kill should have failed some requests: \(summary)")

        let verify = try await run([
            "loadgen", "--url", "http://127.0.0.1:\(port)", "--verify-only", "--record", record,
        ])
        #expect(verify.status == 0, "an acknowledged command is missing or applied twice: \(verify.output)")
        process.terminate()
        await process.exited()
        #expect(logFiles(dir).isEmpty, "log files in the data directory: \(logFiles(dir))")
        let logVerify = try await run(["log", "verify", "--store", database.dsn])
        #expect(logVerify.status == 0, "\(logVerify.output)")

        // A pg_dump of the database, restored into a fresh one, is a whole copy: it verifies, and a
        // server with an empty data directory serves every acknowledged command from it.
        let dump = temporary.sub("tally.dump")
        let restored = try server.createDatabase("restored")
        let connection = ["-h", server.host, "-p", String(server.port), "-U", server.user]
        let dumped = try TallyProcess.run(
            executable: server.binDirectory + "/pg_dump", connection + ["-Fc", "-f", dump, database.name])
        #expect(dumped.status == 0, "\(dumped.output)")
        let loaded = try TallyProcess.run(
            executable: server.binDirectory + "/pg_restore", connection + ["--no-owner", "-d", restored.name, dump])
        #expect(loaded.status == 0, "\(loaded.output)")
        let restoredVerify = try await run(["log", "verify", "--store", restored.dsn])
        #expect(restoredVerify.status == 0, "\(restoredVerify.output)")
        // The same partitions, batches, records and epochs (log lines and the database's name left out).
        let verifiedLines = { (output: String) in
            output.split(separator: "\n").filter { ["partition ", "  epochs", "total:"].contains(where: $0.hasPrefix) }
        }
        #expect(
            verifiedLines(restoredVerify.output) == verifiedLines(logVerify.output),
            "\(restoredVerify.output) vs \(logVerify.output)")

        let fresh = temporary.sub("fresh")
        try FileManager.default.createDirectory(atPath: fresh, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: dir + "/secrets.json", toPath: fresh + "/secrets.json")
        process = try start(
            ["serve", "--data", fresh, "--port", String(port), "--store", restored.dsn],
            log: temporary.sub("serve-restored.log"))
        await waitForHealth(port: port)
        // Every partition is acquired at start and its read models caught up from its snapshot
        // before any query asks.
        var caughtUp = 0
        for _ in 0..<300 {
            let text = (try? String(contentsOfFile: temporary.sub("serve-restored.log"), encoding: .utf8)) ?? ""
            caughtUp = text.components(separatedBy: "read models caught up").count - 1
            if caughtUp == 4 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(caughtUp == 4, "the restored server did not catch up every partition's read models at start")
        let verifyRestored = try await run([
            "loadgen", "--url", "http://127.0.0.1:\(port)", "--verify-only", "--record", record,
        ])
        #expect(verifyRestored.status == 0, "the restored copy lacks an acknowledged command: \(verifyRestored.output)")
        process.terminate()
        await process.exited()
        #expect(logFiles(fresh).isEmpty)
        let serverLog = (try? String(contentsOfFile: temporary.sub("serve-restored.log"), encoding: .utf8)) ?? ""
        for line in serverLog.split(separator: "\n") where line.contains("read models caught up") {
            print("restored: \(line)")
        }
    }

    @Test func aShardKilledOnItsOwnMachineHasItsPartitionsServedByTheOther() async throws {
        let database = try PostgresServer.shared().createDatabase()
        let temporary = TemporaryDirectory()
        let ports = try (0...2).map { _ in try freeLoopbackPort() }
        let coordinator = "http://127.0.0.1:\(ports[0])"
        let record = temporary.sub("acks.jsonl")
        let machines = [temporary.sub("machine-1"), temporary.sub("machine-2")]
        try shareSecrets(machines)
        var processes: [String: Process] = [:]
        defer { for p in processes.values where p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        // The coordinator keeps its assignment in files of its own (its state moves to PostgreSQL elsewhere).
        processes["coordinator"] = try start(
            ["coordinator", "--data", temporary.sub("coordinator"), "--port", String(ports[0]), "--partitions", "4"],
            log: temporary.sub("coordinator.log"))
        try await Task.sleep(for: .milliseconds(500))
        for i in 1...2 {
            processes["shard-\(i)"] = try start(
                [
                    "shard", "--coordinator", coordinator, "--data", machines[i - 1], "--port", String(ports[i]),
                    "--name", "shard-\(i)", "--store", database.dsn, "--partitions", "4",
                ], log: temporary.sub("shard-\(i).log"))
        }
        for _ in 0..<300 {
            if Set(await HTTPProbes.owners(coordinator).values).count == 2 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let before = await HTTPProbes.owners(coordinator)
        #expect(Set(before.values) == ["shard-1", "shard-2"], "partitions were not spread: \(before)")

        let output = Pipe()
        let loadgen = try startLoadgen(
            port: ports[1],
            ["--guilds", "12", "--people", "30", "--rate", "120", "--duration", "10", "--record", record],
            output: output)
        try await Task.sleep(for: .seconds(3))
        kill(processes["shard-2"]!.processIdentifier, SIGKILL)
        await processes["shard-2"]!.exited()
        await loadgen.exited()
        try output.fileHandleForWriting.close()
        let summary = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let acknowledged = (try? String(contentsOfFile: record, encoding: .utf8))?.split(separator: "\n").count ?? 0
        #expect(acknowledged > 300, "too little was acknowledged: \(summary)")
        print("two shards on the store: \(summary.replacingOccurrences(of: "\n", with: "; "))")

        for _ in 0..<300 {
            if Set(await HTTPProbes.owners(coordinator).values) == ["shard-1"] { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let after = await HTTPProbes.owners(coordinator)
        #expect(Set(after.values) == ["shard-1"], "the killed shard's partitions did not move: \(after)")
        let verify = try await run([
            "loadgen", "--url", "http://127.0.0.1:\(ports[1])", "--verify-only", "--record", record,
        ])
        #expect(verify.status == 0, "verification failed: \(verify.output) (load: \(summary))")
        processes["shard-1"]!.terminate()
        await processes["shard-1"]!.exited()
        for machine in machines { #expect(logFiles(machine).isEmpty, "log files on \(machine)") }
        let logVerify = try await run(["log", "verify", "--store", database.dsn])
        #expect(logVerify.status == 0, "\(logVerify.output)")
        // Every partition that moved was taken at a higher epoch in the database.
        let server = try PostgresServer.shared()
        let epochs = try server.psql(
            "SELECT string_agg('p' || partition || '=' || epoch, ',') FROM tally_partitions", database: database)
        for (partition, owner) in before where owner == "shard-2" {
            let epoch =
                epochs.split(whereSeparator: { ", \n".contains($0) }).first { $0.hasPrefix("p\(partition)=") }
                .flatMap { Int($0.split(separator: "=").last ?? "") } ?? 0
            #expect(epoch >= 2, "partition \(partition) moved without a new epoch: \(epochs)")
        }
    }
}
