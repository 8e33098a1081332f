import AsyncHTTPClient
import Domain
import EventLog
import Foundation
import NIOCore
import NIOHTTP1
import Projections
import Roles
import ServiceLifecycle
import Synchronization
import TallyTesting
import Testing

/// A value shared by a test's concurrent tasks (a `Mutex` in a class, so closures capture a reference).
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T { try mutex.withLock { try body(&$0) } }
}

/// `POST /v1/admin/rebuilds` on a running `tally serve`, under a load of commands and queries.
@Suite(.timeLimit(.minutes(4))) struct OnlineRebuildTests {
    static let token = "rebuild-token"
    static let guilds = (0..<4).map { String((UInt64(1_300_000_000_000 + $0) << 22) | 7) }
    static let people = (0..<30).map { String((UInt64(1_200_000_000_000 + $0) << 22) | 3) }
    /// The people the new rule changes: excluded from the raffle, with points.
    static let excluded = Set(people.enumerated().filter { $0.offset % 5 == 0 }.map(\.element))

    /// The new version of the people projection: an excluded person's leaderboard score is 0.
    static let v2 = ProjectionCatalog(peopleVersion: 2, pointsScore: { $0.excluded ? 0 : $0.points })

    struct Server {
        let port: Int
        let group: ServiceGroup
    }

    /// Runs `tally serve`'s role on `data` with `catalog` around `body`, then shuts it down gracefully.
    static func serving(
        _ data: DataDirectory, catalog: ProjectionCatalog, _ body: (Int) async throws -> Void
    ) async throws {
        let bound = RolesTests.BoundPort()
        var configuration = ServeRole.Configuration(
            data: data, operatorToken: token, raffleSecret: Array(repeating: 7, count: 32))
        configuration.address = .hostname("127.0.0.1", port: 0)
        configuration.onServerRunning = { bound.set($0) }
        configuration.catalog = catalog
        let role = try ServeRole(configuration: configuration, logger: testLogger)
        let group = role.serviceGroup(gracefulShutdownSignals: [])
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            do { try await body(try await bound.wait()) } catch {
                await group.triggerGracefulShutdown()
                throw error
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    static func request(
        _ port: Int, _ method: HTTPMethod, _ path: String, _ body: String? = nil
    ) async throws -> (status: UInt, json: [String: Any]) {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let data = try await response.body.collect(upTo: 16 << 20)
        let json = (try? JSONSerialization.jsonObject(with: Data(buffer: data)) as? [String: Any]) ?? [:]
        return (response.status.code, json)
    }

    /// Each opened partition's stale projections, from `GET /v1/admin/status` (after a query per guild,
    /// which opens the read models).
    static func staleProjections(_ port: Int) async throws -> [[String]] {
        for guild in guilds { _ = try await request(port, .GET, "/v1/guilds/\(guild)/leaderboards/points") }
        let status = try await request(port, .GET, "/v1/admin/status").json
        let nodes = status["nodes"] as? [[String: Any]] ?? []
        return nodes.flatMap { ($0["partitions"] as? [[String: Any]]) ?? [] }
            .filter { $0["read_models_offset"] != nil }
            .map { $0["stale_projections"] as? [String] ?? ["?"] }
    }

    static func adjust(_ port: Int, guild: String, person: String, delta: Int, key: String) async throws -> UInt {
        try await request(
            port, .POST, "/v1/guilds/\(guild)/commands",
            #"{"type":"adjust_points","key":"\#(key)","person":"\#(person)","delta":\#(delta),"reason":"\#(key)"}"#
        ).status
    }

    @Test func rebuildsWhileServingWithNoErrorsAndADiffOfExactlyTheChangedPeople() async throws {
        let dir = TemporaryDirectory()
        let data = try DataDirectory.open(path: dir.path, creatingWith: 4)

        // Version 1 of the people projection serves: everyone gets 10 points, some are excluded.
        try await Self.serving(data, catalog: .current) { port in
            for guild in Self.guilds {
                for person in Self.people {
                    let answer1 = try await Self.adjust(
                        port, guild: guild, person: person, delta: 10, key: "seed-\(person)")
                    #expect(answer1 == 200)
                }
                for person in Self.excluded {
                    let body =
                        #"{"type":"set_raffle_exclusion","key":"ex-\#(person)","person":"\#(person)","excluded":true}"#
                    let answer2 = try await Self.request(port, .POST, "/v1/guilds/\(guild)/commands", body).status
                    #expect(answer2 == 200)
                }
                let answer3 = try await Self.request(port, .GET, "/v1/guilds/\(guild)/leaderboards/points").status
                #expect(answer3 == 200)
            }
        }

        // The new build (people v2) serves the old read models until they are rebuilt online.
        try await Self.serving(data, catalog: Self.v2) { port in
            let errors = Locked<[String]>([])
            let acked = Locked<[String: Int]>([:])  // "guild/person" → acknowledged +1s
            let queries = Locked(0)
            let stop = Locked(false)
            // Before the rebuild, the status names the people projection stale wherever it is open.
            let staleBefore = try await Self.staleProjections(port)
            #expect(!staleBefore.isEmpty && staleBefore.allSatisfy { $0 == ["people"] }, "\(staleBefore)")
            let unaffected = Self.people.filter { !Self.excluded.contains($0) }
            try await withThrowingTaskGroup(of: Void.self) { load in
                // Commands: +1 to people the rule does not affect, each acknowledged one remembered.
                for worker in 0..<4 {
                    load.addTask {
                        var i = 0
                        while !stop.withLock({ $0 }) {
                            let guild = Self.guilds[(worker + i) % Self.guilds.count]
                            let person = unaffected[(i * 7 + worker) % unaffected.count]
                            let status = try await Self.adjust(
                                port, guild: guild, person: person, delta: 1, key: "load-\(worker)-\(i)")
                            if status == 200 {
                                acked.withLock { $0["\(guild)/\(person)", default: 0] += 1 }
                            } else {
                                errors.withLock { $0.append("command HTTP \(status)") }
                            }
                            i += 1
                        }
                    }
                }
                // Queries: leaderboards and people, every answer must be a 200.
                for worker in 0..<4 {
                    load.addTask {
                        var i = 0
                        while !stop.withLock({ $0 }) {
                            let guild = Self.guilds[(worker + i) % Self.guilds.count]
                            let path =
                                i % 2 == 0
                                ? "/v1/guilds/\(guild)/leaderboards/points?limit=25"
                                : "/v1/guilds/\(guild)/people/\(Self.people[i % Self.people.count])"
                            let (status, _) = try await Self.request(port, .GET, path)
                            if status != 200 { errors.withLock { $0.append("query \(path) HTTP \(status)") } }
                            queries.withLock { $0 += 1 }
                            i += 1
                        }
                    }
                }
                try await Task.sleep(for: .milliseconds(300))
                let (status, job) = try await Self.request(
                    port, .POST, "/v1/admin/rebuilds", #"{"projections":["people"]}"#)
                #expect(status == 202)
                let id = try #require(job["id"] as? String)
                var state = job
                while ["queued", "running"].contains(state["state"] as? String ?? "") {
                    try await Task.sleep(for: .milliseconds(50))
                    state = try await Self.request(port, .GET, "/v1/admin/rebuilds/\(id)").json
                }
                let queriesAtSwap = queries.withLock { $0 }
                // Keep loading the new read models a while after the swap.
                try await Task.sleep(for: .milliseconds(500))
                stop.withLock { $0 = true }
                try await load.waitForAll()
                #expect(queries.withLock { $0 } > queriesAtSwap)

                #expect(state["state"] as? String == "done", "\(state)")
                // The diff names exactly the excluded people of every guild, score old → 0.
                let people = state["people"] as? [[String: Any]] ?? []
                let named = Set(people.map { "\($0["guild"] as? String ?? "")/\($0["person"] as? String ?? "")" })
                let expected = Set(Self.guilds.flatMap { g in Self.excluded.map { "\(g)/discord:\($0)" } })
                #expect(named == expected)
                for change in people {
                    let score = (change["changes"] as? [String: [Any]])?["score"]
                    #expect(score?.last as? Int == 0, "\(change)")
                    #expect((change["changes"] as? [String: Any])?.keys.sorted() == ["score"])
                }
                #expect((state["other_rows"] as? [Any])?.isEmpty == true)
                #expect(state["people_changed"] as? Int == expected.count)
                // The report file holds the same diff.
                let report = try #require(state["report"] as? String)
                let saved = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report)))
                #expect((saved as? [String: Any])?["people_changed"] as? Int == expected.count)
            }
            #expect(errors.withLock { $0 } == [])
            let staleAfter = try await Self.staleProjections(port)
            #expect(!staleAfter.isEmpty && staleAfter.allSatisfy(\.isEmpty), "\(staleAfter)")

            // Every acknowledged command is visible in the new read models.
            for (key, count) in acked.withLock({ $0 }) {
                let parts = key.split(separator: "/")
                let (status, person) = try await Self.request(port, .GET, "/v1/guilds/\(parts[0])/people/\(parts[1])")
                #expect(status == 200)
                #expect(person["points"] as? Int == 10 + count, "\(key)")
            }
            #expect(!acked.withLock { $0 }.isEmpty)
        }
        // The new rule serves, at the new version: excluded people score 0, so they leave the
        // points leaderboard (it lists scores above 0); under version 1 they were on it with 10.
        for guild in Self.guilds {
            let id = GuildID(UInt64(guild)!)
            let store = try ReadModelStore(
                path: ReadModelStore.path(dataDirectory: data, partition: data.partition(for: id)), catalog: Self.v2)
            let board = try store.leaderboard(.points, guild: id, limit: 100)
            let unaffected = Set(Self.people.filter { !Self.excluded.contains($0) }.map { "discord:\($0)" })
            #expect(Set(board.map(\.person)) == unaffected)
            #expect(board.allSatisfy { $0.value >= 10 })
            try store.close()
        }
        // Only the new generation is left.
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path + "/readmodels")
        #expect(!files.contains { $0.hasSuffix(".building") })
        for partition in data.existingPartitions {
            #expect(ReadModelStore.generations(dataDirectory: data, partition: partition).count == 1)
        }
    }
}
