import ArgumentParser

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure Tally against its baselines on this machine.",
        subcommands: [LogBench.self],
        defaultSubcommand: LogBench.self
    )
}
