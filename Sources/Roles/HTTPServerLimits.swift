import Hummingbird
import Logging
import NIOCore

/// How much of a process's HTTP server one client may hold: connections that sit idle are closed,
/// and past a number of open connections new ones wait in the kernel's accept queue.
///
/// Without these, a client that opens connections and sends nothing (or keeps them alive between
/// requests forever) holds a file descriptor each until the process runs out of them, and every
/// other client is refused.
public struct HTTPServerLimits: Sendable {
    /// A connection with no request in progress for this long is closed. Default 60 s.
    public var idleTimeout: Duration = .seconds(60)
    /// Open connections accepted at once; further ones are accepted as earlier ones close (they wait
    /// in the listen backlog, and a client gives up by its own timeout). Default 2,048.
    public var maxConnections = 2_048

    public init() {}

    /// An application serving `router` with these limits.
    func application(
        router: Router<BasicRequestContext>, address: BindAddress, serverName: String,
        onServerRunning: @escaping @Sendable (any Channel) async -> Void, logger: Logger
    ) -> Application<RouterResponder<BasicRequestContext>> {
        precondition(maxConnections >= 1 && idleTimeout > .zero, "limits must be positive")
        return Application(
            router: router,
            server: .http1(configuration: .init(idleTimeout: TimeAmount(idleTimeout))),
            configuration: .init(
                address: address, serverName: serverName,
                availableConnectionsDelegate: .maximum(maxConnections, logger: logger)),
            onServerRunning: onServerRunning, logger: logger)
    }
}
