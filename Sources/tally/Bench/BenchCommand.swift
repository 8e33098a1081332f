import ArgumentParser
import Foundation

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure Tally against its baselines on this machine.",
        subcommands: [
            AllBench.self, LogBench.self, DomainBench.self, MemoryBench.self, WebhookBench.self, InteractionBench.self,
            HTTPBench.self, BareServerCommand.self, HistoryBench.self,
        ],
        defaultSubcommand: AllBench.self
    )
}

/// `tally bench` (`tally bench all`): the log benchmark and the domain benchmark in one run.
struct AllBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "all", abstract: "Run every benchmark; --json prints {\"log\": …, \"domain\": …}.")

    @OptionGroup var logging: LoggingOptions

    @Flag(help: "Print one JSON object instead of tables.")
    var json = false

    func run() async throws {
        let logger = logging.makeLogger()
        let logBench = try LogBench.parse([])
        let log = try await logBench.measure(logger: logger)
        let domain = try await DomainBench.parse([]).measure(logger: logger)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let d = String(decoding: try encoder.encode(domain), as: UTF8.self)
            print("{\"domain\":\(d),\"log\":\(log.json)}")
        } else {
            print(
                log.table(
                    appenders: logBench.appenders, recordsPerAppend: logBench.recordsPerAppend,
                    smallAppenders: logBench.smallAppenders))
            print()
            print(DomainBench.table(domain))
            print()
            print(
                String(
                    format: "in-memory apply vs the log's read rate (bench log): %.2f×",
                    domain.applyEventsPerSecond / log.readEventsPerSecond))
        }
    }
}
