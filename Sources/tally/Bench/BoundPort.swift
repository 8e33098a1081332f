import ArgumentParser
import NIOCore
import Synchronization

/// The port a benchmark's server bound (it binds port 0), once it listens.
final class BoundPort: Sendable {
    private let port = Mutex<Int?>(nil)

    func set(_ channel: any Channel) { port.withLock { $0 = channel.localAddress?.port } }

    func wait() async throws -> Int {
        for _ in 0..<400 {
            if let p = port.withLock({ $0 }) { return p }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw ValidationError("a server did not start listening")
    }
}
