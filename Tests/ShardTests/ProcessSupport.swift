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

/// A TCP port nothing listens on now (the kernel picks it); a process started with it binds it soon after.
func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw CocoaError(.fileReadUnknown) }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else { throw CocoaError(.fileReadUnknown) }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let named = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    guard named == 0 else { throw CocoaError(.fileReadUnknown) }
    return Int(UInt16(bigEndian: address.sin_port))
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
