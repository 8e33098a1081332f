public import Foundation

/// The `tally` executable built beside the test bundle (or `TALLY_BINARY`), run to completion.
public enum TallyProcess {
    public static var binary: String {
        if let path = ProcessInfo.processInfo.environment["TALLY_BINARY"] { return path }
        let bundleDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        return bundleDirectory.appendingPathComponent("tally").path
    }

    /// Runs `tally` with `arguments` (and `environment` added to this process's) and returns its exit
    /// status and its standard output and error together.
    public static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> (
        status: Int32, output: String
    ) {
        try run(executable: binary, arguments, environment: environment)
    }

    /// Runs any executable (a PostgreSQL client tool, say) to its end, likewise.
    public static func run(executable: String, _ arguments: [String], environment: [String: String] = [:]) throws
        -> (status: Int32, output: String)
    {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }
}

extension Process {
    /// Waits until the process has exited without holding a thread of Swift's cooperative pool: the
    /// pool has one thread per core (two here), and a test blocked in `waitUntilExit()` on one of them
    /// starves every server and test in the bundle that needs it.
    public func exited() async {
        nonisolated(unsafe) let process = self
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            Thread.detachNewThread {
                process.waitUntilExit()
                done.resume()
            }
        }
    }
}
