import AsyncHTTPClient
import Domain
import EventLog
import Foundation
import NIOCore
import NIOHTTP1
import Projections
import Shard
import Synchronization
import TallyTesting
import Testing

/// `POST /v1/admin/backups` under load, `tally restore` into a fresh directory, and serving the copy.
@Suite(.timeLimit(.minutes(4))) struct BackupTests {
    typealias Rebuild = OnlineRebuildTests

    struct Ack: Hashable {
        var guild: String
        var person: String
        var key: String
        var offset: UInt64
    }

    @Test func backupUnderLoadRestoresEveryCommandAcknowledgedBeforeItsEndOffset() async throws {
        let dir = TemporaryDirectory()
        let restored = TemporaryDirectory()
        try FileManager.default.removeItem(atPath: restored.path)
        let data = try DataDirectory.open(path: dir.path, creatingWith: 4)
        var all: [Ack] = []
        var manifest: [String: Any] = [:]
        try await Rebuild.serving(data, catalog: .current) { port in
            let acks = Locked<[Ack]>([])
            let stop = Locked(false)
            try await withThrowingTaskGroup(of: Void.self) { load in
                for worker in 0..<4 {
                    load.addTask {
                        var i = 0
                        while !stop.withLock({ $0 }) {
                            let guild = Rebuild.guilds[(worker + i) % Rebuild.guilds.count]
                            let person = Rebuild.people[(i * 3 + worker) % Rebuild.people.count]
                            let key = "bk-\(worker)-\(i)"
                            let (status, body) = try await Rebuild.request(
                                port, .POST, "/v1/guilds/\(guild)/commands",
                                #"{"type":"adjust_points","key":"\#(key)","person":"\#(person)","delta":1,"reason":"\#(key)"}"#
                            )
                            #expect(status == 200)
                            if let offset = ((body["events"] as? [[String: Any]])?.first?["offset"] as? Int) {
                                acks.withLock {
                                    $0.append(Ack(guild: guild, person: person, key: key, offset: UInt64(offset)))
                                }
                            }
                            // Queries too: they open the read models the backup copies.
                            if i % 4 == 0 {
                                _ = try await Rebuild.request(port, .GET, "/v1/guilds/\(guild)/leaderboards/points")
                            }
                            i += 1
                        }
                    }
                }
                // The backup starts once the load has acknowledged commands in every guild's
                // partition (a slow start must not leave it empty), and the load goes on after it.
                let deadline = ContinuousClock.now + .seconds(60)
                while acks.withLock({ Set($0.map(\.guild)).count }) < Rebuild.guilds.count,
                    ContinuousClock.now < deadline
                {
                    try await Task.sleep(for: .milliseconds(50))
                }
                try await Task.sleep(for: .milliseconds(200))
                let (status, answer) = try await Rebuild.request(
                    port, .POST, "/v1/admin/backups", #"{"name":"b1"}"#)
                #expect(status == 200, "\(answer)")
                manifest = answer
                let after = acks.withLock { $0.count } + 20
                while acks.withLock({ $0.count }) < after, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(50))
                }
                stop.withLock { $0 = true }
                try await load.waitForAll()
            }
            all = acks.withLock { $0 }
            // Bad requests change nothing: a name that leaves the backup directory (400), and a second
            // backup under the same name (409, the first is left as it was).
            let answer1 = try await Rebuild.request(port, .POST, "/v1/admin/backups", #"{"name":"../up"}"#).status
            #expect(answer1 == 400)
            let again = try await Rebuild.request(port, .POST, "/v1/admin/backups", #"{"name":"b1"}"#)
            #expect(again.status == 409, "\(again.json)")
        }
        let backup = try #require(manifest["directory"] as? String)
        #expect(backup == dir.path + "/backups/b1")
        let partitions = try #require(manifest["partitions"] as? [[String: Any]])
        var ends: [Int: UInt64] = [:]
        for p in partitions { ends[p["partition"] as! Int] = UInt64(p["end_offset"] as! Int) }
        // A partition the load first reaches after the backup is not in it (its end is 0: nothing
        // acknowledged before the backup is in it); every partition in it exists.
        #expect(Set(ends.keys).isSubset(of: Set(data.existingPartitions.map { Int($0.rawValue) })))
        // Commands acknowledged after the backup exist (its end is a cut through the load).
        let partitionOf = { (ack: Ack) in Int(data.partition(for: GuildID(UInt64(ack.guild)!)).rawValue) }
        #expect(all.contains { $0.offset >= ends[partitionOf($0), default: 0] })
        #expect(all.contains { $0.offset < ends[partitionOf($0), default: 0] })

        // tally log verify passes on the copy; tally restore brings it into a fresh directory.
        #expect(try Self.tally(["log", "verify", backup]) == 0)
        #expect(try Self.tally(["restore", backup, "--to", restored.path]) == 0)
        #expect(try Self.tally(["restore", backup, "--to", restored.path]) != 0)  // not empty any more

        // Served, the copy holds exactly the commands acknowledged below each partition's end.
        let copy = try DataDirectory.open(path: restored.path)
        try await Rebuild.serving(copy, catalog: .current) { port in
            for (person, personAcks) in Dictionary(grouping: all, by: { "\($0.guild)/\($0.person)" }) {
                let parts = person.split(separator: "/")
                let (status, audit) = try await Rebuild.request(
                    port, .GET, "/v1/guilds/\(parts[0])/audit?user=\(parts[1])&limit=1000")
                let reasons = ((audit["entries"] as? [[String: Any]]) ?? []).compactMap { $0["reason"] as? String }
                let before = personAcks.filter { $0.offset < ends[partitionOf($0), default: 0] }
                if before.isEmpty { continue }
                #expect(status == 200)
                for ack in personAcks {
                    let count = reasons.filter { $0 == ack.key }.count
                    #expect(count == (ack.offset < ends[partitionOf(ack), default: 0] ? 1 : 0), "\(ack)")
                }
            }
        }
    }

    /// Runs the `tally` executable and returns its exit status.
    static func tally(_ arguments: [String]) throws -> Int32 {
        try runTally(arguments, token: Rebuild.token).status
    }
}
