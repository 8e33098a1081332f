import ArgumentParser
import Domain
import EventLog
import Foundation
import Logging
import Partition
import Projections
import Simulation

/// `tally simulate DIR`: a realistic community history, written through the real rules.
struct SimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract:
            "Write a simulated community's history (chat, streams, links, gifts, shop, raffles) into a data directory.",
        discussion:
            "Every command goes through the same rules as live traffic; the read models are brought up to date at the end."
    )

    @Argument(help: "The data directory (created if missing).")
    var directory: String

    @Option(help: "Guilds to simulate.")
    var guilds: Int = 20

    @Option(help: "Commands to generate.")
    var commands: Int = 100_000

    @Option(help: "Partitions of a new data directory.")
    var partitions: Int = DataDirectory.defaultPartitionCount

    @Option(help: "Random seed.")
    var seed: UInt64 = 1

    @Flag(help: "Do not project the read models afterwards.")
    var noProject = false

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard guilds > 0, commands > 0 else { throw ValidationError("--guilds and --commands must be positive") }
    }

    func run() async throws {
        let logger = logging.makeLogger()
        let data = try DataDirectory.open(path: directory, creatingWith: partitions)
        var simulatorConfiguration = CommunitySimulator.Configuration()
        simulatorConfiguration.guilds = guilds
        simulatorConfiguration.seed = seed
        var simulator = CommunitySimulator(simulatorConfiguration)
        let writer = try PartitionSet(data: data, logger: logger)
        var accepted = 0
        var rejected = 0
        var events = 0
        let chunk = 5_000
        var done = 0
        while done < commands {
            let n = min(chunk, commands - done)
            for _ in 0..<n {
                let step = simulator.next()
                let outcome = try writer.process(step)
                switch outcome.decision {
                case .accepted: accepted += 1
                case .rejected: rejected += 1
                case .duplicate: break
                }
                events += outcome.records.count
            }
            try await writer.flush()
            done += n
            FileHandle.standardError.write(Data("simulate: \(done)/\(commands) commands, \(events) events\n".utf8))
        }
        await writer.close()
        print(
            "simulated \(commands) commands for \(guilds) guilds: \(accepted) accepted, \(rejected) rejected, \(events) events"
        )
        print(
            "guilds: \(simulator.guilds.prefix(3).map(\.description).joined(separator: ", "))\(guilds > 3 ? ", …" : "")"
        )
        if !noProject {
            try ProjectCommand.projectAll(data: data, logger: logger, quiet: false)
        }
    }
}

/// Open logs and command processors for every partition a simulation touches.
final class PartitionSet {
    let data: DataDirectory
    let logger: Logger
    private var logs: [PartitionID: PartitionLog] = [:]
    private var processors: [PartitionID: CommandProcessor] = [:]
    private var pending: [PartitionID: [Record]] = [:]

    init(data: DataDirectory, logger: Logger) throws {
        self.data = data
        self.logger = logger
    }

    func process(_ step: CommunitySimulator.Step) throws -> CommandProcessor.Outcome {
        let p = data.partition(for: step.guild)
        if logs[p] == nil {
            let log = try PartitionLog.openForWriting(
                directory: data.directory(of: p), partition: p, epoch: Epoch(1), logger: logger)
            var processor = CommandProcessor()
            // Continue an existing history: fold what the partition already holds.
            if log.endOffset > .zero {
                try log.read(LogQuery()) { record in
                    _ = processor
                    try processor.restore(EventCodec.decode(record))
                }
            }
            logs[p] = log
            processors[p] = processor
        }
        let outcome = processors[p]!.process(step.command, guild: step.guild, context: step.context)
        pending[p, default: []] += outcome.records
        return outcome
    }

    func flush() async throws {
        for (p, records) in pending where !records.isEmpty {
            _ = try await logs[p]!.append(records)
        }
        pending.removeAll()
    }

    func close() async {
        for log in logs.values { await log.close() }
    }
}
