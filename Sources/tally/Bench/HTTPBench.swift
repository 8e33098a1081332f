import ArgumentParser
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOPosix

/// `tally bench http`: durable commands through `tally serve` against the ceiling of the HTTP stack
/// under them, in one run: a bare Hummingbird 2 app answering a fixed 200 to a POST of the same
/// size, then `tally serve` on a fresh data directory, both child processes of this one and both
/// driven by the same load generator (``HTTPLoad``, in this process).
///
/// Phases, each on a warmed-up server:
/// 1. bare app, closed loop: the most requests per second the stack answers (the ceiling);
/// 2. `tally serve`, closed loop: the most durable commands per second;
/// 3. `tally serve`, open loop at `--fraction` of the ceiling: commands per second and latency
///    from each command's scheduled send time (the goal: ≥ 0.4 of the ceiling with p99 < 20 ms);
/// 4. `tally serve`, batches of `--batch-size` commands (`POST /v1/guilds/{g}/commands/batch`),
///    closed loop: commands per second.
struct HTTPBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "http",
        abstract: "Durable commands through tally serve against a bare Hummingbird app (the ceiling), one run.")

    @Option(help: "Seconds per measured phase.") var duration: Double = 8
    @Option(help: "Seconds of warm-up before each server's phases.") var warmup: Double = 2
    @Option(help: "Connections of the load generator.") var connections: Int = 32
    @Option(help: "Open-loop rate as a fraction of the bare ceiling.") var fraction: Double = 0.4
    @Option(help: "Open-loop rate in commands per second (overrides --fraction).") var rate: Double?
    @Option(help: "Guilds the commands are spread over.") var guilds: Int = 1_000
    @Option(help: "People per guild.") var people: Int = 500
    @Option(help: "Commands per batch request.") var batchSize: Int = 1_000
    @Option(help: "Connections for the batch phase.") var batchConnections: Int = 4
    @Option(help: "Shard nodes in the served process.") var shards: Int = 2
    @Option(help: "Where to put the data directory (a fresh temporary one by default; removed afterwards).")
    var scratch: String?
    @Option(help: "Another tally executable whose serve is measured too, in the same run (a before/after).")
    var baselineBinary: String?
    @Flag(help: "Print one JSON object.") var json = false

    func validate() throws {
        guard duration > 0, warmup >= 0, connections >= 1, connections <= 1024, guilds >= 1, people >= 1 else {
            throw ValidationError("--duration, --connections (1 to 1024), --guilds and --people must be positive")
        }
        guard (1...1000).contains(batchSize), batchConnections >= 1 else {
            throw ValidationError("--batch-size is 1 to 1000 and --batch-connections positive")
        }
        guard fraction > 0, (rate ?? 1) > 0 else { throw ValidationError("--fraction and --rate must be positive") }
    }

    /// What one `tally serve` build did in phases 2–4.
    struct ServeFigures: Encodable {
        var binary = ""
        var commandsMaxPerS = 0.0
        var commandsMaxP99Ms = 0.0
        var commandsOfferedPerS = 0.0
        var commandsPerS = 0.0
        var commandsP50Ms = 0.0
        var commandsP99Ms = 0.0
        var commandsErrors = 0
        var serverCpuUsPerCommand = 0.0
        var serverContextSwitchesPerCommand = 0.0
        var batchCommandsPerS = 0.0
        var batchP99Ms = 0.0
        var batchErrors = 0
        var serverCpuUsPerBatchedCommand = 0.0
    }

    /// The ceiling and this build's figures, flat in one JSON object (with the baseline's nested).
    struct Report: Encodable {
        var machine = machineDescription()
        var loadGenerator = "HTTPLoad (NIO, one event loop in the bench process, keep-alive; pipelined in open loop)"
        var connections = 0
        var batchSize = 0
        var bareRequestsPerS = 0.0
        var bareP99Ms = 0.0
        var bareServerCpuUsPerRequest = 0.0
        /// This build's phases 2–4.
        var serve = ServeFigures()
        /// The same phases with `--baseline-binary`, when given.
        var baseline: ServeFigures?

        enum CodingKeys: String, CodingKey {
            case machine, loadGenerator, connections, batchSize, bareRequestsPerS, bareP99Ms
            case bareServerCpuUsPerRequest, baseline, commandsVsBare, commandsMaxVsBare
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(machine, forKey: .machine)
            try c.encode(loadGenerator, forKey: .loadGenerator)
            try c.encode(connections, forKey: .connections)
            try c.encode(batchSize, forKey: .batchSize)
            try c.encode(bareRequestsPerS, forKey: .bareRequestsPerS)
            try c.encode(bareP99Ms, forKey: .bareP99Ms)
            try c.encode(bareServerCpuUsPerRequest, forKey: .bareServerCpuUsPerRequest)
            try c.encode(serve.commandsPerS / bareRequestsPerS, forKey: .commandsVsBare)
            try c.encode(serve.commandsMaxPerS / bareRequestsPerS, forKey: .commandsMaxVsBare)
            try c.encodeIfPresent(baseline, forKey: .baseline)
            // This build's figures at the top level, beside the ceiling.
            try serve.encode(to: encoder)
        }
    }

    func run() async throws {
        let root =
            scratch
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("tally-bench-http-\(getpid())").path
        var report = Report()
        report.connections = connections
        report.batchSize = batchSize
        let (guilds, people) = (self.guilds, self.people)
        let single: @Sendable (Int) -> HTTPLoad.Request = { i in Self.command(i, guilds: guilds, people: people) }

        // 1. The ceiling.
        let barePort = try Self.freePort()
        let bare = try Self.spawn(nil, ["bench", "bare-server", "--port", "\(barePort)"], environment: [:])
        do {
            defer { Self.stop(bare) }
            let load = HTTPLoad(host: "127.0.0.1", port: barePort, authorization: "bench")
            try await Self.waitForServer(port: barePort)
            _ = try await load.run(mode: .closed(depth: 1), connections: connections, duration: warmup, make: single)
            let usage = ProcessUsage(pid: bare.processIdentifier)
            let r = try await load.run(
                mode: .closed(depth: 1), connections: connections, duration: duration, make: single)
            report.bareRequestsPerS = r.perSecond
            report.bareP99Ms = r.percentile(0.99)
            report.bareServerCpuUsPerRequest = usage.cpuMicroseconds(per: r.succeeded)
            progress("bare: \(Int(r.perSecond)) requests/s, p99 \(String(format: "%.2f", r.percentile(0.99))) ms")
        }
        guard report.bareRequestsPerS > 0 else { throw ValidationError("the bare app answered nothing") }
        let offered = rate ?? fraction * report.bareRequestsPerS
        if let baselineBinary {
            report.baseline = try await serve(binary: baselineBinary, offered: offered, root: root + "-baseline")
        }
        report.serve = try await serve(binary: nil, offered: offered, root: root)

        if json {
            let encoder = JSONEncoder()
            encoder.keyEncodingStrategy = .convertToSnakeCase
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(Self.table(report))
        }
    }

    /// Phases 2–4 against `tally serve` of `binary` (nil: this executable) on a fresh data directory.
    func serve(binary: String?, offered: Double, root: String) async throws -> ServeFigures {
        try? FileManager.default.removeItem(atPath: root)
        defer { try? FileManager.default.removeItem(atPath: root) }
        var figures = ServeFigures()
        figures.binary = binary ?? "this build"
        let name = binary ?? "serve"
        let (guilds, people) = (self.guilds, self.people)
        let port = try Self.freePort()
        let serve = try Self.spawn(
            binary,
            ["serve", "--data", root, "--port", "\(port)", "--shards", "\(shards)", "--log-level", "error"],
            environment: ["TALLY_OPERATOR_TOKEN": "bench"])
        defer { Self.stop(serve) }
        let load = HTTPLoad(host: "127.0.0.1", port: port, authorization: "bench")
        try await Self.waitForServer(port: port)
        // Warm-up: the closed loop touches every partition (acquiring it) and fills the guilds.
        let warm = try await load.run(
            mode: .closed(depth: 1), connections: connections, duration: max(warmup, 1),
            make: { i in Self.command(i, guilds: guilds, people: people, prefix: "warm") })
        guard warm.succeeded > 0 else { throw ValidationError("tally serve answered no command: \(warm.statuses)") }

        let max = try await load.run(
            mode: .closed(depth: 1), connections: connections, duration: duration,
            make: { i in Self.command(i, guilds: guilds, people: people, prefix: "max") })
        figures.commandsMaxPerS = max.perSecond
        figures.commandsMaxP99Ms = max.percentile(0.99)
        progress(
            "\(name), closed loop: \(Int(max.perSecond)) commands/s, p99 \(String(format: "%.2f", max.percentile(0.99))) ms"
        )

        figures.commandsOfferedPerS = offered
        let openUsage = ProcessUsage(pid: serve.processIdentifier)
        let open = try await load.run(
            mode: .open(rate: offered), connections: connections, duration: duration,
            make: { i in Self.command(i, guilds: guilds, people: people, prefix: "open") })
        figures.commandsPerS = open.perSecond
        figures.commandsP50Ms = open.percentile(0.5)
        figures.commandsP99Ms = open.percentile(0.99)
        figures.commandsErrors = open.failed
        figures.serverCpuUsPerCommand = openUsage.cpuMicroseconds(per: open.succeeded)
        figures.serverContextSwitchesPerCommand = openUsage.contextSwitches(per: open.succeeded)
        progress(
            "\(name), open loop at \(Int(offered))/s: \(Int(open.perSecond))/s, p99 \(String(format: "%.2f", open.percentile(0.99))) ms, errors \(open.failed)"
        )

        let bodies = BatchBodies(pool: 64, size: batchSize, guilds: guilds, people: people)
        let batchUsage = ProcessUsage(pid: serve.processIdentifier)
        let batch = try await load.run(
            mode: .closed(depth: 1), connections: batchConnections, duration: duration,
            make: { i in bodies.request(i) })
        figures.batchCommandsPerS = batch.perSecond * Double(batchSize)
        figures.batchP99Ms = batch.percentile(0.99)
        figures.batchErrors = batch.failed
        figures.serverCpuUsPerBatchedCommand = batchUsage.cpuMicroseconds(per: batch.succeeded * batchSize)
        progress(
            "\(name), batches of \(batchSize): \(Int(figures.batchCommandsPerS)) commands/s, errors \(batch.failed)")
        return figures
    }

    static func table(_ r: Report) -> String {
        """
        tally bench http — \(r.machine)
        load generator: \(r.loadGenerator), \(r.connections) connections
        bare Hummingbird 2 (fixed 200), closed loop: \(f(r.bareRequestsPerS)) requests/s, p99 \(f(r.bareP99Ms, 2)) ms, \
        server CPU \(f(r.bareServerCpuUsPerRequest, 1)) µs/request
        \(lines(r.serve, "tally serve (this build)", bare: r.bareRequestsPerS, batchSize: r.batchSize))
        """
            + (r.baseline.map {
                "\n" + lines($0, "tally serve (\($0.binary))", bare: r.bareRequestsPerS, batchSize: r.batchSize)
            } ?? "")
    }

    private static func f(_ v: Double, _ digits: Int = 0) -> String { String(format: "%.\(digits)f", v) }

    private static func lines(_ s: ServeFigures, _ label: String, bare: Double, batchSize: Int) -> String {
        """
        \(label), durable commands, closed loop: \(f(s.commandsMaxPerS))/s (\(f(s.commandsMaxPerS / bare, 2))× bare), \
        p99 \(f(s.commandsMaxP99Ms, 2)) ms
        \(label), open loop at \(f(s.commandsOfferedPerS))/s: \(f(s.commandsPerS))/s (\(f(s.commandsPerS / bare, 2))× bare), \
        p50 \(f(s.commandsP50Ms, 2)) ms, p99 \(f(s.commandsP99Ms, 2)) ms, errors \(s.commandsErrors); \
        server CPU \(f(s.serverCpuUsPerCommand, 1)) µs and \(f(s.serverContextSwitchesPerCommand, 2)) context switches per command
        \(label), batches of \(batchSize): \(f(s.batchCommandsPerS)) commands/s, p99 \(f(s.batchP99Ms, 2)) ms per batch, \
        errors \(s.batchErrors); server CPU \(f(s.serverCpuUsPerBatchedCommand, 2)) µs per command
        """
    }

    // MARK: Requests

    static func guildID(_ i: Int) -> UInt64 { (UInt64(1_300_000_000_000 + i) << 22) | 7 }
    static func personID(_ i: Int) -> UInt64 { (UInt64(1_200_000_000_000 + i) << 22) | 3 }

    /// A mix that spreads request `i` over guilds and people deterministically (SplitMix-style).
    static func mix(_ i: Int, _ salt: UInt64) -> UInt64 {
        var z = UInt64(truncatingIfNeeded: i) &+ salt &* 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    static func commandJSON(key: String, person: UInt64) -> String {
        #"{"type":"adjust_points","key":"\#(key)","person":"\#(person)","delta":1,"reason":"\#(key)"}"#
    }

    /// An `adjust_points` with its own key for a guild and person picked from `i`.
    static func command(_ i: Int, guilds: Int, people: Int, prefix: String = "c") -> HTTPLoad.Request {
        let guild = guildID(Int(mix(i, 1) % UInt64(guilds)))
        let key = "\(prefix)-\(i)"
        return HTTPLoad.Request(
            path: "/v1/guilds/\(guild)/commands",
            body: Array(commandJSON(key: key, person: personID(Int(mix(i, 2) % UInt64(people)))).utf8))
    }

    /// Batch requests of `size` such commands, their bytes made once: `pool` bodies (each for a guild
    /// picked as before) whose keys are fixed-width digit runs, patched in place for request *i* so
    /// that every key is fresh. Making a request is one copy of the body, not a thousand strings.
    struct BatchBodies: Sendable {
        static let keyDigits = 12
        var paths: [String] = []
        var bodies: [[UInt8]] = []
        /// Where each command's key digits start (in its key and in its reason), per body.
        var keyOffsets: [[Int]] = []
        let size: Int

        init(pool: Int, size: Int, guilds: Int, people: Int) {
            self.size = size
            let placeholder = "b-" + String(repeating: "0", count: Self.keyDigits)
            for k in 0..<pool {
                paths.append("/v1/guilds/\(guildID(Int(mix(k, 3) % UInt64(guilds))))/commands/batch")
                var body = Array(#"{"commands":["#.utf8)
                var offsets: [Int] = []
                for j in 0..<size {
                    if j > 0 { body.append(UInt8(ascii: ",")) }
                    let command = Array(
                        commandJSON(key: placeholder, person: personID(Int(mix(k * size + j, 4) % UInt64(people))))
                            .utf8)
                    var from = 0
                    for _ in 0..<2 {
                        let at = Self.find(Array(placeholder.utf8), in: command, from: from)
                        offsets.append(body.count + at + 2)
                        from = at + 1
                    }
                    body += command
                }
                body += Array("]}".utf8)
                bodies.append(body)
                keyOffsets.append(offsets)
            }
        }

        static func find(_ needle: [UInt8], in haystack: [UInt8], from: Int) -> Int {
            var at = from
            while !haystack[at..<(at + needle.count)].elementsEqual(needle) { at += 1 }
            return at
        }

        /// Request *i*: body `i % pool` with keys `b-<i × size + j>`.
        func request(_ i: Int) -> HTTPLoad.Request {
            let k = i % bodies.count
            var body = bodies[k]
            let offsets = keyOffsets[k]
            body.withUnsafeMutableBufferPointer { b in
                for j in 0..<size {
                    var n = i * size + j
                    var digit = Self.keyDigits
                    let (key, reason) = (offsets[2 * j], offsets[2 * j + 1])
                    while digit > 0 {
                        digit -= 1
                        let d = UInt8(ascii: "0") + UInt8(n % 10)
                        b[key + digit] = d
                        b[reason + digit] = d
                        n /= 10
                    }
                }
            }
            return HTTPLoad.Request(path: paths[k], body: body)
        }
    }

    // MARK: Processes

    private func progress(_ line: String) {
        FileHandle.standardError.write(Data("bench http: \(line)\n".utf8))
    }

    /// `binary` (nil: this executable again) as a child process.
    static func spawn(_ binary: String?, _ arguments: [String], environment: [String: String]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary ?? "/proc/self/exe")
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        // The child's own output goes to standard error: standard output is the report's (--json).
        process.standardOutput = FileHandle.standardError
        try process.run()
        return process
    }

    static func stop(_ process: Process) {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    /// A port nothing listens on now (bound to port 0 and released).
    static func freePort() throws -> Int {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let channel = try ServerBootstrap(group: group).bind(host: "127.0.0.1", port: 0).wait()
        let port = channel.localAddress?.port ?? 0
        try channel.close().wait()
        return port
    }

    /// Returns once something accepts connections on `port` (at most 30 s).
    static func waitForServer(port: Int) async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        for _ in 0..<300 {
            if let channel = try? await ClientBootstrap(group: group).connect(host: "127.0.0.1", port: port).get() {
                try? await channel.close()
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw ValidationError("no server came up on port \(port)")
    }
}

/// CPU time and context switches of a process since this value was made (from /proc).
struct ProcessUsage {
    let pid: Int32
    let cpu: Double
    let switches: Int

    init(pid: Int32) {
        self.pid = pid
        (cpu, switches) = Self.read(pid)
    }

    /// utime + stime in seconds, and voluntary + involuntary switches summed over the live threads.
    static func read(_ pid: Int32) -> (Double, Int) {
        var cpu = 0.0
        if let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        {
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            // Fields 14 and 15 of stat(5); `fields` starts at field 3.
            if fields.count > 13, let u = Double(fields[11]), let s = Double(fields[12]) {
                cpu = (u + s) / Double(sysconf(Int32(_SC_CLK_TCK)))
            }
        }
        var switches = 0
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        for task in tasks {
            guard let status = try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/status", encoding: .utf8)
            else { continue }
            for line in status.split(separator: "\n") where line.contains("ctxt_switches") {
                switches += Int(line.split(separator: "\t").last ?? "0") ?? 0
            }
        }
        return (cpu, switches)
    }

    func cpuMicroseconds(per count: Int) -> Double {
        count > 0 ? (Self.read(pid).0 - cpu) * 1e6 / Double(count) : 0
    }

    func contextSwitches(per count: Int) -> Double {
        count > 0 ? Double(Self.read(pid).1 - switches) / Double(count) : 0
    }
}

/// `tally bench bare-server`: the ceiling for `tally bench http`: a Hummingbird 2 app that reads each
/// POST's body and answers a fixed 200, with nothing else on the path.
struct BareServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bare-server",
        abstract: "A bare Hummingbird app answering a fixed 200 to every POST (the ceiling of bench http).",
        shouldDisplay: false)

    @Option(help: "The port to listen on (127.0.0.1).") var port: Int

    func run() async throws {
        var logger = Logger(label: "tally.bare")
        logger.logLevel = .error
        let router = Router()
        let answer = ByteBuffer(string: #"{"duplicate":false,"events":[]}"#)
        let handler: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, _ in
            var request = request
            _ = try await request.collectBody(upTo: 4 << 20)
            return Response(
                status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: answer))
        }
        router.post("/v1/guilds/:guild/commands", use: handler)
        router.post("/v1/guilds/:guild/commands/batch", use: handler)
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)), logger: logger)
        try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
    }
}
