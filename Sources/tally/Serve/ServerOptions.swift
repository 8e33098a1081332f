import ArgumentParser
import Roles

/// The HTTP server's limits, as `serve`, `shard` and `coordinator` take them.
struct ServerOptions: ParsableArguments {
    @Option(help: "Seconds an HTTP connection may sit idle (no request in progress) before it is closed.")
    var idleTimeout: Int = 60

    @Option(help: "Open HTTP connections accepted at once; further ones wait until one closes.")
    var maxConnections: Int = 2_048

    func validate() throws {
        guard (1...86_400).contains(idleTimeout) else { throw ValidationError("--idle-timeout is 1 to 86400 seconds") }
        guard (1...1_000_000).contains(maxConnections) else {
            throw ValidationError("--max-connections is 1 to 1000000")
        }
    }

    var limits: HTTPServerLimits {
        var limits = HTTPServerLimits()
        limits.idleTimeout = .seconds(idleTimeout)
        limits.maxConnections = maxConnections
        return limits
    }
}
