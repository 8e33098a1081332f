import AsyncHTTPClient
import EventLog
import Fakes
import Roles
import ServiceLifecycle
import TallyTesting

/// Runs `fakes`, then the `ServeRole` that `makeRole` builds (once the fakes listen, so it can point
/// at them), then `body`; shuts the service and the fakes down gracefully afterwards, also when
/// something throws, and the client last.
func withFakesAndService(
    _ fakes: ServiceGroup, client: HTTPClient, makeRole: () async throws -> ServeRole,
    _ body: (ServeRole) async throws -> Void
) async throws {
    do {
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await fakes.run() }
            let role: ServeRole
            do { role = try await makeRole() } catch {
                await fakes.triggerGracefulShutdown()
                throw error
            }
            let group = role.serviceGroup(gracefulShutdownSignals: [])
            tasks.addTask { try await group.run() }
            do { try await body(role) } catch {
                await group.triggerGracefulShutdown()
                await fakes.triggerGracefulShutdown()
                throw error
            }
            await group.triggerGracefulShutdown()
            await fakes.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    } catch {
        try await client.shutdown()
        throw error
    }
    try await client.shutdown()
}

/// A fake Kick and a fake Discord on loopback, and a `tally serve` (in process) pointed at both.
struct FakePlatforms {
    let kick: FakeKick
    let discord: FakeDiscord
    let directory = TemporaryDirectory()
    private let kickPort = RolesTests.BoundPort()
    private let discordPort = RolesTests.BoundPort()
    private let servicePort = RolesTests.BoundPort()

    init() throws {
        kick = try FakeKick()
        discord = FakeDiscord()
    }

    /// Runs the fakes and the service around `body`, which gets the role and the service's base URL;
    /// `adjust` changes the service's configuration first.
    func run(
        client: HTTPClient, secret: [UInt8], adjust: (inout ServeRole.Configuration) -> Void = { _ in },
        _ body: (ServeRole, String) async throws -> Void
    ) async throws {
        let (kickPort, discordPort, servicePort) = (self.kickPort, self.discordPort, self.servicePort)
        let fakes = ServiceGroup(
            services: [
                kick.application(address: .hostname("127.0.0.1", port: 0), onServerRunning: { kickPort.set($0) }),
                discord.application(address: .hostname("127.0.0.1", port: 0), onServerRunning: { discordPort.set($0) }),
            ],
            gracefulShutdownSignals: [], logger: testLogger)
        try await withFakesAndService(fakes, client: client) {
            var configuration = ServeRole.Configuration(
                data: try DataDirectory.open(path: directory.path, creatingWith: 4), operatorToken: "t",
                raffleSecret: secret)
            configuration.address = .hostname("127.0.0.1", port: 0)
            configuration.kick = kick.configuration(base: "http://127.0.0.1:\(try await kickPort.wait())")
            configuration.discord = discord.configuration(base: "http://127.0.0.1:\(try await discordPort.wait())")
            configuration.onServerRunning = { servicePort.set($0) }
            adjust(&configuration)
            return try ServeRole(configuration: configuration, logger: testLogger)
        } _: { role in
            try await body(role, "http://127.0.0.1:\(try await servicePort.wait())")
        }
    }
}
