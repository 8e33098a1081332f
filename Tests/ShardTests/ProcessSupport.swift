import Foundation

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
