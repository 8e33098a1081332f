import Domain
import EventLog
import Foundation
import Logging
import Partition
import Projections
import Simulation
import TallyTesting

/// Writes simulated or given commands for one partition into a real log, through the real rules.
struct LogFixture {
    let directory: String
    let log: PartitionLog
    var processor = CommandProcessor()

    init(_ directory: String) throws {
        self.directory = directory
        log = try PartitionLog.openForWriting(
            directory: directory, partition: PartitionID(0), epoch: .initial, logger: testLogger)
    }

    @discardableResult
    mutating func run(_ step: CommunitySimulator.Step) async throws -> Decision {
        let outcome = processor.process(step.command, guild: step.guild, context: step.context)
        if !outcome.records.isEmpty { _ = try await log.append(outcome.records) }
        return outcome.decision
    }

    mutating func simulate(_ count: Int, guilds: Int = 6, seed: UInt64 = 1) async throws -> CommunitySimulator {
        var configuration = CommunitySimulator.Configuration()
        configuration.guilds = guilds
        configuration.seed = seed
        var simulator = CommunitySimulator(configuration)
        var batch: [Record] = []
        for _ in 0..<count {
            let step = simulator.next()
            batch += processor.process(step.command, guild: step.guild, context: step.context).records
            if batch.count > 2000 {
                _ = try await log.append(batch)
                batch.removeAll()
            }
        }
        if !batch.isEmpty { _ = try await log.append(batch) }
        return simulator
    }
}

/// The `tally` executable built beside the test bundle.
var tallyBinary: String {
    if let path = ProcessInfo.processInfo.environment["TALLY_BINARY"] { return path }
    return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("tally")
        .path
}
