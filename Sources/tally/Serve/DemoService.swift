import Domain
import EventLog
import Logging
import ServiceLifecycle
import Shard
import Simulation

/// `tally serve --demo`: feeds a simulated community through the nodes in real time, about one
/// simulated minute of three guilds per second, so the leaderboards visibly move. Stops on shutdown.
struct DemoService: Service {
    let router: any NodeRouter
    let now: @Sendable () -> Timestamp
    let raffleSecret: [UInt8]
    let logger: Logger

    func run() async throws {
        var configuration = CommunitySimulator.Configuration()
        configuration.guilds = 3
        configuration.chattersPerGuild = 25
        configuration.seed = UInt64(now().rawValue)
        configuration.raffleSecret = raffleSecret
        var simulator = CommunitySimulator(configuration)
        logger.info(
            "demo community", metadata: ["guilds": "\(simulator.guilds.map(\.description).joined(separator: ","))"])
        var lastMinute = simulator.now
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            let step = simulator.next()
            var context = step.context
            context.time = now()
            do {
                _ = try await router.node(for: step.guild).handle(step.command, guild: step.guild, context: context)
            } catch is Rejection {
                // The simulator issues some commands the rules refuse (a purchase without points): expected.
            } catch {
                logger.warning("demo command failed", metadata: ["guild": "\(step.guild)", "error": "\(error)"])
            }
            if simulator.now > lastMinute {
                lastMinute = simulator.now
                do { try await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) } } catch { return }
            }
        }
    }
}
