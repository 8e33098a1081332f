import AsyncHTTPClient
import Coordinator
import Domain
import EventLog
import Foundation
import NIOCore
import NIOHTTP1
import Roles
import Shard
import TallyTesting
import Testing

/// A partition damaged inside acknowledged data is quarantined while every other partition serves:
/// through real files, the real roles and real HTTP, and a real `tally serve` repaired with
/// `tally log repair` and restarted.
@Suite(.serialized, .timeLimit(.minutes(4))) struct QuarantineTests {
    static let token = "quarantine-token"

    /// The first guild (counting up from a fixed snowflake) whose partition is `partition`.
    static func guild(in partition: PartitionID, of data: DataDirectory) -> GuildID {
        var id: UInt64 = 5_033_164_800_000_000_000
        while data.partition(for: GuildID(id)) != partition { id += 1 }
        return GuildID(id)
    }

    /// Writes `commands` acknowledged commands for each guild through a node, then releases it.
    static func write(_ guilds: [GuildID], commands: Int, data: DataDirectory) async throws {
        let node = ShardNode(configuration: .init(data: data), logger: testLogger)
        for guild in guilds {
            for i in 0..<commands {
                _ = try await node.handle(
                    .adjustPoints(.discord(UserID(1_100_000_000_000_000_001)), delta: 5, reason: "seed \(i)"),
                    guild: guild,
                    context: CommandContext(
                        key: "seed-\(i)", time: Timestamp(milliseconds: 1_796_083_200_000 + Int64(i))))
            }
        }
        await node.shutdown()
    }

    /// Flips one byte inside the first batch of partition `partition`'s first segment (which the
    /// recovery point covers) and returns the segment's path and the batch's position.
    static func damage(_ partition: PartitionID, of data: DataDirectory) throws -> (path: String, position: Int64) {
        let directory = data.directory(of: partition)
        let segment = directory + "/" + SegmentFile.stem(.zero) + SegmentFile.logSuffix
        let entries = try #require(
            SegmentIndexFile.load(
                path: directory + "/" + SegmentFile.stem(.zero) + SegmentFile.indexSuffix, baseOffset: .zero))
        let point = try #require(try RecoveryPoint.load(directory: directory))
        #expect(point.offset >= entries[0].nextOffset, "the damaged batch must lie below the recovery point")
        let handle = try #require(FileHandle(forUpdatingAtPath: segment))
        defer { try? handle.close() }
        try handle.seek(toOffset: UInt64(entries[0].position + 40))
        var byte = try #require(try handle.read(upToCount: 1))
        byte[byte.startIndex] ^= 0x10
        try handle.seek(toOffset: UInt64(entries[0].position + 40))
        try handle.write(contentsOf: byte)
        return (segment, entries[0].position)
    }

    static func request(
        _ method: HTTPMethod, _ url: String, body: String? = nil
    ) async throws -> (status: Int, json: [String: Any], headers: HTTPHeaders) {
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(20))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        let json = (try? JSONSerialization.jsonObject(with: Data(buffer: bytes))) as? [String: Any] ?? [:]
        return (Int(response.status.code), json, response.headers)
    }

    static func command(_ base: String, _ guild: GuildID, key: String) async throws -> (Int, [String: Any], HTTPHeaders)
    {
        try await request(
            .POST, "\(base)/v1/guilds/\(guild)/commands",
            body: #"{"type":"adjust_points","key":"\#(key)","person":"1100000000000000001","delta":1,"reason":"r"}"#)
    }

    static func errorBody(_ json: [String: Any]) -> [String: Any] { json["error"] as? [String: Any] ?? [:] }

    /// A data directory of 4 partitions with acknowledged commands of a guild in partition 0 (then
    /// damaged) and of one in `healthy`.
    static func damagedDirectory(_ dir: TemporaryDirectory, healthy partition: PartitionID) async throws -> (
        data: DataDirectory, damaged: GuildID, healthy: GuildID, segment: String, position: Int64
    ) {
        let data = try DataDirectory.open(path: dir.path, creatingWith: 4)
        let damaged = guild(in: PartitionID(0), of: data)
        let healthy = guild(in: partition, of: data)
        try await write([damaged, healthy], commands: 3, data: data)
        let (segment, position) = try damage(PartitionID(0), of: data)
        return (data, damaged, healthy, segment, position)
    }

    @Test func serveStartsWithADamagedPartitionQuarantinedAndServesEveryOther() async throws {
        let dir = TemporaryDirectory()
        let (data, damaged, healthy, segment, position) = try await Self.damagedDirectory(dir, healthy: PartitionID(2))

        let bound = RolesTests.BoundPort()
        var configuration = ServeRole.Configuration(
            data: data, operatorToken: Self.token, raffleSecret: Array(repeating: 1, count: 32))
        configuration.address = .hostname("127.0.0.1", port: 0)
        configuration.onServerRunning = { bound.set($0) }
        let role = try ServeRole(configuration: configuration, logger: testLogger)
        let group = role.serviceGroup(gracefulShutdownSignals: [])
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let base = "http://127.0.0.1:\(try await bound.wait())"
            // The start acquires every partition with a log; wait until partition 0 was tried.
            var health: (status: Int, json: [String: Any], headers: HTTPHeaders) = (0, [:], [:])
            for _ in 0..<200 {
                health = try await Self.request(.GET, base + "/health")
                if health.json["status"] as? String == "degraded" { break }
                try await Task.sleep(for: .milliseconds(25))
            }
            #expect(health.status == 200, "probes must still see the process alive")
            #expect(health.json["status"] as? String == "degraded")
            let quarantined = health.json["quarantined"] as? [[String: Any]] ?? []
            #expect(quarantined.count == 1)
            #expect(quarantined.first?["partition"] as? Int == 0)
            #expect(quarantined.first?["file"] as? String == segment)
            #expect(quarantined.first?["position"] as? Int == Int(position))

            let (status, json, headers) = try await Self.command(base, damaged, key: "after-damage")
            #expect(status == 503)
            let error = Self.errorBody(json)
            #expect(error["code"] as? String == "partition_damaged")
            #expect(error["file"] as? String == segment)
            #expect(error["position"] as? Int == Int(position))
            #expect((error["message"] as? String)?.contains("\(segment) at byte \(position)") == true, "\(error)")
            #expect(headers["Retry-After"].isEmpty, "retrying does not help a damaged partition")
            let read = try await Self.request(.GET, "\(base)/v1/guilds/\(damaged)/leaderboards/points")
            #expect(read.status == 503)
            #expect(Self.errorBody(read.json)["code"] as? String == "partition_damaged")

            let (ok, answer, _) = try await Self.command(base, healthy, key: "after-damage")
            #expect(ok == 200, "\(answer)")
            let board = try await Self.request(.GET, "\(base)/v1/guilds/\(healthy)/leaderboards/points")
            #expect(board.status == 200)

            let cluster = try await Self.request(.GET, base + "/v1/cluster")
            let rows = cluster.json["partitions"] as? [[String: Any]] ?? []
            #expect(
                (rows.first { $0["partition"] as? Int == 0 }?["damage"] as? [String: Any])?["file"] as? String
                    == segment)
            #expect(rows.filter { $0["damage"] != nil }.count == 1)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        #expect(FileManager.default.fileExists(atPath: segment), "quarantine changes no file")
    }

    @Test func aShardReportsItsQuarantinedPartitionToTheCoordinatorsView() async throws {
        let dir = TemporaryDirectory()
        let data = try DataDirectory.open(path: dir.path, creatingWith: 4)
        let damaged = Self.guild(in: PartitionID(0), of: data)
        try await Self.write([damaged], commands: 2, data: data)
        let (segment, position) = try Self.damage(PartitionID(0), of: data)

        let coordinatorPort = RolesTests.BoundPort()
        var coordinatorConfiguration = CoordinatorRole.Configuration(data: data, clusterKey: .generate())
        coordinatorConfiguration.address = .hostname("127.0.0.1", port: 0)
        coordinatorConfiguration.onServerRunning = { coordinatorPort.set($0) }
        let coordinator = try CoordinatorRole(configuration: coordinatorConfiguration, logger: testLogger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            let coordinatorGroup = coordinator.serviceGroup(gracefulShutdownSignals: [])
            tasks.addTask { try await coordinatorGroup.run() }
            let coordinatorURL = "http://127.0.0.1:\(try await coordinatorPort.wait())"
            let shardPort = try freeLoopbackPort()
            let shardURL = "http://127.0.0.1:\(shardPort)"
            var shardConfiguration = ShardRole.Configuration(
                data: data, shard: ShardID("s1"), coordinator: coordinatorURL, url: shardURL,
                operatorToken: Self.token, raffleSecret: Array(repeating: 1, count: 32),
                clusterKey: coordinatorConfiguration.clusterKey)
            shardConfiguration.address = .hostname("127.0.0.1", port: shardPort)
            let shard = try await ShardRole(configuration: shardConfiguration, logger: testLogger)
            let shardGroup = shard.serviceGroup(gracefulShutdownSignals: [])
            tasks.addTask { try await shardGroup.run() }

            // Once granted, the shard finds the damage at its first request for the guild.
            var code = ""
            for _ in 0..<200 {
                if let answer = try? await Self.command(shardURL, damaged, key: "k") {
                    code = Self.errorBody(answer.1)["code"] as? String ?? ""
                    if code == "partition_damaged" { break }
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(code == "partition_damaged")
            // The next heartbeat carries it to the coordinator's view and health.
            var reported: [String: Any]?
            for _ in 0..<100 {
                let view = try await Self.request(.GET, coordinatorURL + "/v1/cluster")
                let rows = view.json["partitions"] as? [[String: Any]] ?? []
                reported = rows.first { $0["partition"] as? Int == 0 }?["damage"] as? [String: Any]
                if reported != nil { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(reported?["file"] as? String == segment)
            #expect(reported?["position"] as? Int == Int(position))
            let health = try await Self.request(.GET, coordinatorURL + "/health")
            #expect(health.status == 200)
            #expect(health.json["status"] as? String == "degraded")
            #expect((health.json["quarantined"] as? [[String: Any]])?.first?["partition"] as? Int == 0)
            // Forwarded through the coordinator, the guild gets the same answer.
            let forwarded = try await Self.command(coordinatorURL, damaged, key: "k2")
            #expect(forwarded.0 == 503)
            #expect(Self.errorBody(forwarded.1)["code"] as? String == "partition_damaged")

            await shardGroup.triggerGracefulShutdown()
            await coordinatorGroup.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    @Test func aRealServerQuarantinesThenServesAgainAfterRepairAndRestart() async throws {
        let dir = TemporaryDirectory()
        let (_, damaged, healthy, segment, position) = try await Self.damagedDirectory(dir, healthy: PartitionID(1))
        let port = try freeLoopbackPort()
        let base = "http://127.0.0.1:\(port)"
        let serve = ["serve", "--data", dir.path, "--port", String(port), "--partitions", "4"]

        var server = try startTally(serve, token: Self.token)
        defer { if server.isRunning { kill(server.processIdentifier, SIGKILL) } }
        let health = try await waitForHealth(base, status: "degraded")
        #expect(health["status"] as? String == "degraded", "\(health)")
        let metrics = try await Self.metricsText(base)
        #expect(metrics.contains(#"tally_partition_quarantined{partition="0"} 1"#), "\(metrics)")
        #expect(metrics.contains(#"tally_partitions{state="quarantined"} 1"#), "\(metrics)")
        #expect(try await Self.command(base, damaged, key: "during").0 == 503)
        #expect(try await Self.command(base, healthy, key: "during").0 == 200)

        // The quarantined partition is not open: repair may run while the server serves the others.
        let (planStatus, plan) = try runTally(["log", "repair", dir.path, "--partition", "0"])
        #expect(planStatus == 0, "\(plan)")
        #expect(plan.contains("damage in \(segment) at byte \(position)"), "\(plan)")
        #expect(plan.contains("nothing changed"), "\(plan)")
        let (cutStatus, cut) = try runTally(["log", "repair", dir.path, "--partition", "0", "--truncate-after-damage"])
        #expect(cutStatus == 0, "\(cut)")
        #expect(cut.contains("kept a copy of the cut bytes: \(segment).damaged-\(position)"), "\(cut)")
        #expect(FileManager.default.fileExists(atPath: "\(segment).damaged-\(position)"))
        #expect(cut.contains("set aside a snapshot past the cut"), "\(cut)")

        server.terminate()
        await server.exited()
        server = try startTally(serve, token: Self.token)
        let healed = try await waitForHealth(base, status: "ok")
        #expect(healed["quarantined"] == nil)
        let (status, json, _) = try await Self.command(base, damaged, key: "after-repair")
        #expect(status == 200, "\(json)")
        #expect((try await Self.metricsText(base)).contains(#"tally_partition_quarantined{partition="0"}"#) == false)
        // The cut records are gone from the log and from every read model: only the new command counts.
        let person = try await Self.request(.GET, "\(base)/v1/guilds/\(damaged)/people/1100000000000000001")
        #expect(person.json["points"] as? Int == 1, "\(person.json)")
        server.terminate()
        await server.exited()
    }

    static func metricsText(_ base: String) async throws -> String {
        let response = try await HTTPClient.shared.execute(
            HTTPClientRequest(url: base + "/metrics"), timeout: .seconds(10))
        return String(buffer: try await response.body.collect(upTo: 1 << 22))
    }
}

/// Waits until `GET /health` answers 200 with `status`, and returns its body.
func waitForHealth(_ base: String, status: String) async throws -> [String: Any] {
    var last: [String: Any] = [:]
    for _ in 0..<300 {
        if let answer = try? await QuarantineTests.request(.GET, base + "/health"), answer.status == 200 {
            last = answer.json
            if answer.json["status"] as? String == status { return answer.json }
        }
        try await Task.sleep(for: .milliseconds(50))
    }
    Issue.record("health never said \(status): \(last)")
    return last
}

/// Runs `tally` to completion and returns its status and output.
func runTally(_ arguments: [String]) throws -> (Int32, String) {
    let output = Pipe()
    let process = try startTally(arguments, token: QuarantineTests.token, output: output.fileHandleForWriting)
    try output.fileHandleForWriting.close()
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return (process.terminationStatus, text)
}
