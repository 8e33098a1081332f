import Foundation
import TallyTesting
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `tally rebuild --url`, `tally status --url` and `tally backup --url` against a real `tally serve`.
@Suite(.serialized, .timeLimit(.minutes(3))) struct OperatorCLITests {
    static let token = "cli-token"

    @Test func rebuildStatusAndBackupTalkToARunningServe() async throws {
        let dir = TemporaryDirectory()
        let port = try freeLoopbackPort()
        let url = "http://127.0.0.1:\(port)"
        let serve = try startTally(
            ["serve", "--data", dir.path, "--port", String(port), "--partitions", "4"], token: Self.token)
        defer { if serve.isRunning { kill(serve.processIdentifier, SIGKILL) } }
        for _ in 0..<100 {
            if let (_, r) = try? await URLSession.shared.data(from: URL(string: url + "/health")!),
                (r as? HTTPURLResponse)?.statusCode == 200
            {
                break
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        let guild = "5033164800000000000"
        for i in 0..<20 {
            var request = URLRequest(url: URL(string: "\(url)/v1/guilds/\(guild)/commands")!)
            request.httpMethod = "POST"
            request.setValue("Bearer \(Self.token)", forHTTPHeaderField: "Authorization")
            request.httpBody = Data(
                #"{"type":"adjust_points","key":"cli-\#(i)","person":"110000000000000000\#(i % 10)","delta":3,"reason":"r"}"#
                    .utf8)
            let (_, response) = try await URLSession.shared.data(for: request)
            #expect((response as? HTTPURLResponse)?.statusCode == 200)
        }

        // The same build: nothing changes, every partition with history is rebuilt and swapped.
        let report = dir.sub("rebuild.json")
        let rebuild = try runTally(["rebuild", "--url", url, "--report", report], token: Self.token)
        #expect(rebuild.status == 0, "\(rebuild.output)")
        #expect(rebuild.output.contains("swapped at offset"), "\(rebuild.output)")
        #expect(rebuild.output.contains("total: 0 people in 0 guilds changed"), "\(rebuild.output)")
        #expect(FileManager.default.fileExists(atPath: report))
        // --guild: only the partition holding the guild.
        let one = try runTally(
            ["rebuild", "--url", url, "--guild", guild, "--projection", "people"], token: Self.token)
        #expect(one.status == 0, "\(one.output)")
        #expect(one.output.components(separatedBy: "swapped at offset").count == 2, "\(one.output)")
        // A projection that does not exist is refused before anything starts.
        let bad = try runTally(["rebuild", "--url", url, "--projection", "nope"], token: Self.token)
        #expect(bad.status != 0)
        #expect(bad.output.contains("no projection named nope"), "\(bad.output)")
        // A wrong token is refused.
        let denied = try runTally(["status", "--url", url, "--token", "wrong"], token: Self.token)
        #expect(denied.status != 0)
        #expect(denied.output.contains("401"), "\(denied.output)")

        let status = try runTally(["status", "--url", url], token: Self.token)
        #expect(status.status == 0, "\(status.output)")
        #expect(status.output.contains("serving"), "\(status.output)")
        #expect(status.output.contains("shard-1"), "\(status.output)")
        #expect(status.output.contains("rebuilds:"), "\(status.output)")
        let json = try runTally(["status", "--url", url, "--json"], token: Self.token)
        let object = try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any]
        let nodes = object?["nodes"] as? [[String: Any]]
        let rows = nodes?.flatMap { ($0["nodes"] as? [[String: Any]]) ?? [] }
            .flatMap { ($0["partitions"] as? [[String: Any]]) ?? [] }
        #expect(rows?.contains { $0["state"] as? String == "serving" && ($0["log_end"] as? Int ?? 0) >= 20 } == true)

        let backup = try runTally(["backup", "--url", url, "--name", "nightly"], token: Self.token)
        #expect(backup.status == 0, "\(backup.output)")
        #expect(backup.output.contains("verified"), "\(backup.output)")
        #expect(try runTally(["log", "verify", dir.path + "/backups/nightly"], token: Self.token).status == 0)
        let again = try runTally(["backup", "--url", url, "--name", "nightly"], token: Self.token)
        #expect(again.status != 0)
        #expect(again.output.contains("backup_exists"), "\(again.output)")

        serve.terminate()
        await serve.exited()
        // Offline, from the data directory.
        let offline = try runTally(["backup", "--data", dir.path, "--to", dir.sub("offline")], token: Self.token)
        #expect(offline.status == 0, "\(offline.output)")
        #expect(try runTally(["log", "verify", dir.sub("offline")], token: Self.token).status == 0)
    }
}
