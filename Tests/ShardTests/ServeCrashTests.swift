import Foundation
import TallyTesting
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A real `tally serve` killed with SIGKILL under load from a real `tally loadgen`, restarted, and
/// checked: every acknowledged command is reflected exactly once, and the log has no damage.
@Suite(.serialized, .timeLimit(.minutes(5))) struct ServeCrashTests {
    func start(_ arguments: [String], token: String, output: FileHandle? = nil) throws -> Process {
        try startTally(arguments, token: token, output: output)
    }

    func waitForHealth(port: Int) async throws {
        let up = await HTTPProbes.waitForHealth(port: port)
        #expect(up, "the server did not come up on port \(port)")
    }

    @Test func aServerKilledMidLoadLosesNothingAcknowledgedAndAppliesNothingTwice() async throws {
        let temporary = TemporaryDirectory()
        let dir = temporary.path
        let port = 20_000 + Int(getpid() % 20_000)
        let token = "crash-test-token"
        let record = dir + ".acks.jsonl"
        defer { try? FileManager.default.removeItem(atPath: record) }
        let serve = ["serve", "--data", dir, "--port", String(port), "--partitions", "4"]

        var server = try start(serve, token: token)
        try await waitForHealth(port: port)
        let output = Pipe()
        let loadgen = try start(
            [
                "loadgen", "--url", "http://127.0.0.1:\(port)", "--guilds", "12", "--people", "40", "--rate", "300",
                "--duration", "4", "--record", record,
            ],
            token: token, output: output.fileHandleForWriting)
        // Kill the server without warning in the middle of the load, then bring it back.
        try await Task.sleep(for: .milliseconds(1_300))
        kill(server.processIdentifier, SIGKILL)
        await server.exited()
        try await Task.sleep(for: .milliseconds(300))
        server = try start(serve, token: token)
        try await waitForHealth(port: port)
        await loadgen.exited()
        try output.fileHandleForWriting.close()
        let summary = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(loadgen.terminationStatus == 0, "\(summary)")
        let acknowledged = (try? String(contentsOfFile: record, encoding: .utf8))?.split(separator: "\n").count ?? 0
        #expect(acknowledged > 300, "too little was acknowledged to test anything: \(summary)")
        #expect(
            summary.contains("errors") && !summary.contains("errors 0"),
            "the kill should have failed some requests: \(summary)")

        let verify = try start(
            ["loadgen", "--url", "http://127.0.0.1:\(port)", "--verify-only", "--record", record], token: token)
        await verify.exited()
        #expect(verify.terminationStatus == 0, "an acknowledged command is missing or applied twice")

        server.terminate()
        await server.exited()
        let logVerify = try start(["log", "verify", dir], token: token)
        await logVerify.exited()
        #expect(logVerify.terminationStatus == 0, "the log is damaged")
    }
}
