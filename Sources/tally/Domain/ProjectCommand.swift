import ArgumentParser
import EventLog
import Foundation
import Logging
import Projections

/// `tally project DIR`: brings the read models up to date with the logs.
struct ProjectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "project",
        abstract: "Bring every partition's read models (SQLite) up to date with its log.",
        discussion:
            "A running service keeps its read models current itself; use this on a data directory no service is running on."
    )

    @Argument(help: "The data directory.")
    var directory: String

    @Option(help: "Only this partition.")
    var partition: UInt32?

    @Option(help: "Events between two committed writes.")
    var flushEvery: Int = 50_000

    @OptionGroup var logging: LoggingOptions

    func run() throws {
        let data = try openDataDirectory(directory)
        try Self.projectAll(
            data: data, only: partition.map { [PartitionID($0)] }, flushEvery: flushEvery, logger: logging.makeLogger(),
            quiet: false)
    }

    static func projectAll(
        data: DataDirectory, only: [PartitionID]? = nil, flushEvery: Int = 50_000, logger: Logger, quiet: Bool
    ) throws {
        try FileManager.default.createDirectory(atPath: data.path + "/readmodels", withIntermediateDirectories: true)
        var total: UInt64 = 0
        for p in only ?? data.existingPartitions {
            let log = try PartitionLog.openForReading(directory: data.directory(of: p), partition: p, logger: logger)
            let store = try ReadModelStore(path: ReadModelStore.path(dataDirectory: data, partition: p))
            var projector = Projector(log: log, store: store)
            projector.flushEvery = flushEvery
            let applied = try projector.catchUp { applied, end in
                if !quiet {
                    FileHandle.standardError.write(
                        Data("project: partition \(p): \(applied) events (log end \(end))\n".utf8))
                }
            }
            total += applied
            if !quiet { print("partition \(p): read models at offset \(log.endOffset) (\(applied) new events)") }
        }
        if !quiet { print("projected \(total) events") }
    }
}
