import Coordinator
import EventLog
import Foundation
import Roles
import ServiceLifecycle
import TallyTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The HTTP server's limits, on a real listening role: an idle connection is closed, and connections
/// past the limit wait without harming those already open.
@Suite(.timeLimit(.minutes(1))) struct ServerLimitsTests {
    /// A raw TCP connection to loopback, with a receive timeout.
    final class Connection {
        let fd: Int32

        init(port: Int) throws {
            fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = UInt16(port).bigEndian
            let ok = withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
                }
            }
            guard ok else { throw CancellationError() }
        }

        private var open = true

        func close() {
            if open { _ = Glibc.close(fd) }
            open = false
        }

        deinit { close() }

        func send(_ text: String) {
            let bytes = Array(text.utf8)
            _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        }

        /// What arrives within `timeout`: bytes, `""` when the server closed the connection, nil when nothing came.
        ///
        /// Polls without blocking and sleeps between polls: a blocking `poll` would hold one of the
        /// cooperative pool's threads (two on this machine), and the servers under test need them.
        func receive(within timeout: Duration) async -> String? {
            let deadline = ContinuousClock.now + timeout
            while true {
                var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                if poll(&poller, 1, 0) == 1 {
                    var buffer = [UInt8](repeating: 0, count: 4096)
                    let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                    return n <= 0 ? "" : String(decoding: buffer[..<n], as: UTF8.self)
                }
                guard ContinuousClock.now < deadline else { return nil }
                try? await Task.sleep(for: .milliseconds(10))
            }
        }

        func health() async -> String? {
            send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            return await receive(within: .seconds(15))
        }
    }

    /// Runs a coordinator role (the smallest server with the shared limits) with `limits` set.
    func withServer(idleTimeout: Duration, maxConnections: Int, _ body: (Int) async throws -> Void) async throws {
        let dir = TemporaryDirectory()
        let bound = RolesTests.BoundPort()
        var configuration = CoordinatorRole.Configuration(
            data: try DataDirectory.open(path: dir.path, creatingWith: 2), clusterKey: .generate())
        configuration.address = .hostname("127.0.0.1", port: 0)
        configuration.onServerRunning = { bound.set($0) }
        configuration.limits.idleTimeout = idleTimeout
        configuration.limits.maxConnections = maxConnections
        let role = try CoordinatorRole(configuration: configuration, logger: testLogger)
        let group = role.serviceGroup(gracefulShutdownSignals: [])
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await body(try await bound.wait())
            await group.triggerGracefulShutdown()
        }
    }

    @Test func anIdleConnectionIsClosedAfterTheIdleTimeout() async throws {
        try await withServer(idleTimeout: .seconds(2), maxConnections: 2048) { port in
            // A connection that never sends a byte is closed after the idle timeout.
            let started = ContinuousClock.now
            let idle = try Connection(port: port)
            #expect(await idle.receive(within: .seconds(15)) == "", "the idle connection was not closed")
            let waited = started.duration(to: .now)
            #expect(waited >= .milliseconds(1_500) && waited < .seconds(15), "closed after \(waited)")
        }
    }

    @Test func connectionsPastTheLimitWaitWithoutHarmingOthers() async throws {
        // A long idle timeout: on a loaded machine the open connections may sit for seconds.
        try await withServer(idleTimeout: .seconds(120), maxConnections: 2) { port in
            // Two connections take the limit; a third waits, while the two keep being served.
            let a = try Connection(port: port)
            let b = try Connection(port: port)
            #expect(await b.health()?.hasPrefix("HTTP/1.1 200") == true)
            let c = try Connection(port: port)
            c.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            #expect(await c.receive(within: .milliseconds(500)) == nil, "a connection past the limit was served")
            #expect(await b.health()?.hasPrefix("HTTP/1.1 200") == true, "an open connection was harmed")
            #expect(await a.health()?.hasPrefix("HTTP/1.1 200") == true, "an open connection was harmed")
            // Once one closes, the waiting one is accepted and answered.
            a.close()
            #expect(
                await c.receive(within: .seconds(15))?.hasPrefix("HTTP/1.1 200") == true,
                "the waiting connection was dropped"
            )
        }
    }
}
