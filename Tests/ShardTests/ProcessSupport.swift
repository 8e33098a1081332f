import Foundation
import TallyTesting

/// The `tally` executable built beside the test bundle (or `TALLY_BINARY`).
var tallyExecutable: String {
    ProcessInfo.processInfo.environment["TALLY_BINARY"]
        ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("tally")
        .path
}

/// The cluster key the processes a test starts share.
let testClusterKey = "test-cluster-key-0123456789abcdef0123456789abcdef"

/// Starts `tally` with `arguments`, the operator token and the test cluster key (and `environment`)
/// in its environment.
func startTally(
    _ arguments: [String], token: String, output: FileHandle? = nil, environment extra: [String: String] = [:]
) throws -> Process {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: tallyExecutable)
    p.arguments = arguments
    var environment = ProcessInfo.processInfo.environment
    environment["TALLY_OPERATOR_TOKEN"] = token
    environment["TALLY_CLUSTER_KEY"] = testClusterKey
    environment.merge(extra) { _, new in new }
    p.environment = environment
    p.standardOutput = output ?? FileHandle.nullDevice
    p.standardError = output ?? FileHandle.nullDevice
    try p.run()
    return p
}

/// Starts a `tally` process that listens on a loopback port and waits until it accepts connections.
///
/// A free port can be taken by another socket before the process binds it, and the process then exits
/// at start: it is started again on a fresh port, up to three times (on `port` again when given: a
/// process restarted where others know it). Output is appended to `log` (a file) when given, so a
/// failing test can show what the process said.
func startListening(
    _ arguments: (Int) -> [String], token: String, port fixed: Int? = nil, log: String? = nil,
    environment: [String: String] = [:], timeout: Duration = .seconds(30)
) async throws -> (process: Process, port: Int) {
    var attempts: [String] = []
    for _ in 0..<3 {
        let port = try fixed ?? freeLoopbackPort()
        var output: FileHandle?
        if let log {
            if !FileManager.default.fileExists(atPath: log) {
                FileManager.default.createFile(atPath: log, contents: nil)
            }
            output = FileHandle(forWritingAtPath: log)
            output?.seekToEndOfFile()
        }
        let process = try startTally(arguments(port), token: token, output: output, environment: environment)
        try? output?.close()  // the child holds its own copy
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, !isListening(port: port), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        if process.isRunning, isListening(port: port) { return (process, port) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        await process.exited()
        attempts.append("port \(port): exited with \(process.terminationStatus)")
    }
    throw ListenFailure(description: "tally \(arguments(0).first ?? "") never listened: \(attempts)")
}

struct ListenFailure: Error, CustomStringConvertible {
    var description: String
}

/// The last `lines` lines of the file at `path` (empty when it cannot be read).
func tail(_ path: String, lines: Int = 30) -> String {
    let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
}

/// Runs `tally` with `arguments` to its end; returns its exit status and what it printed.
func runTally(_ arguments: [String], token: String) throws -> (status: Int32, output: String) {
    let pipe = Pipe()
    let process = try startTally(arguments, token: token, output: pipe.fileHandleForWriting)
    try pipe.fileHandleForWriting.close()  // the child holds its own copy: EOF comes when it exits
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return (process.terminationStatus, output)
}
