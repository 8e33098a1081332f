import Foundation
import Testing

/// `secrets.json` through a real `tally serve`: written atomically at first start, and never
/// replaced by a new raffle secret when it exists but cannot be read.
@Suite(.serialized, .timeLimit(.minutes(2))) struct SecretsTests {
    static func dataDirectory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("tally-secrets-\(UUID().uuidString.prefix(8))")
            .path
    }

    /// Runs `tally serve` on `dir` until it exits (or 20 s pass) and returns its status and output.
    static func serveUntilExit(_ dir: String, port: Int) async throws -> (Int32, String) {
        let output = Pipe()
        let p = try startTally(
            ["serve", "--data", dir, "--port", String(port), "--partitions", "2"], token: "",
            output: output.fileHandleForWriting)
        for _ in 0..<200 where p.isRunning { try await Task.sleep(for: .milliseconds(100)) }
        if p.isRunning {
            kill(p.processIdentifier, SIGKILL)
            await p.exited()
            Issue.record("tally serve did not refuse to start")
        }
        try output.fileHandleForWriting.close()
        return (p.terminationStatus, String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
    }

    @Test func anUnreadableSecretsFileStopsTheServerInsteadOfBeingReplaced() async throws {
        let dir = Self.dataDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // A directory where the file should be cannot be read (the tests run as root, so a mode of
        // 000 would not stop a read).
        try FileManager.default.createDirectory(atPath: dir + "/secrets.json", withIntermediateDirectories: true)
        let (status, output) = try await Self.serveUntilExit(dir, port: 20_000 + Int(getpid() % 20_000) + 101)
        #expect(status != 0)
        #expect(output.contains("refusing to start"), "\(output)")
        var isDirectory: ObjCBool = false
        #expect(FileManager.default.fileExists(atPath: dir + "/secrets.json", isDirectory: &isDirectory))
        #expect(isDirectory.boolValue)
    }

    @Test func aSecretsFileWithoutARaffleSecretStopsTheServerAndIsKept() async throws {
        let dir = Self.dataDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let damaged = #"{"operator_token": "abc", "raffle_secret": "00ff"}"#
        try damaged.write(toFile: dir + "/secrets.json", atomically: false, encoding: .utf8)
        let (status, output) = try await Self.serveUntilExit(dir, port: 20_000 + Int(getpid() % 20_000) + 102)
        #expect(status != 0)
        #expect(output.contains("refusing to start"), "\(output)")
        #expect(try String(contentsOfFile: dir + "/secrets.json", encoding: .utf8) == damaged)
    }

    @Test func firstStartWritesAPrivateSecretsFileAtomically() async throws {
        let dir = Self.dataDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let p = try startTally(
            ["serve", "--data", dir, "--port", String(20_000 + Int(getpid() % 20_000) + 103), "--partitions", "2"],
            token: "")
        defer {
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()  // killed: returns at once
        }
        let path = dir + "/secrets.json"
        for _ in 0..<200 where !FileManager.default.fileExists(atPath: path) {
            try await Task.sleep(for: .milliseconds(50))
        }
        let data = try #require(FileManager.default.contents(atPath: path))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: String])
        #expect(json["raffle_secret"]?.count == 64)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        #expect(!FileManager.default.fileExists(atPath: path + ".tmp"))
    }
}
