import ArgumentParser
import Domain
import EventLog
import Foundation
import Logging
import Partition
import Projections

/// `tally bench domain`: replay and apply throughput, projection into SQLite, and a full rebuild.
struct DomainBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "domain",
        abstract:
            "Benchmark replaying the log into guild state, projecting it into SQLite, and rebuilding every projection."
    )

    @Option(help: "Events for the apply and project measurements.")
    var events: Int = 1_000_000

    @Option(help: "Events for the full-rebuild measurement (0 skips it).")
    var rebuildEvents: Int = 10_000_000

    @Option(help: "Where to put the benchmark's files (a fresh temporary directory by default).")
    var directory: String?

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    @OptionGroup var logging: LoggingOptions

    struct Results: Encodable {
        var events = 0
        var readEventsPerSecond = 0.0
        var applyEventsPerSecond = 0.0
        var foldEventsPerSecond = 0.0
        var projectEventsPerSecond = 0.0
        var rebuildEvents = 0
        var rebuildSeconds = 0.0
        var rebuildGuilds = 0
        var rebuildPeople = 0
        var readModelBytes = 0
        var snapshotWriteSeconds = 0.0
        var snapshotRestoreSeconds = 0.0
        var snapshotBytes = 0

        enum CodingKeys: String, CodingKey {
            case events
            case readEventsPerSecond = "read_decode_events_per_s"
            case applyEventsPerSecond = "apply_events_per_s"
            case foldEventsPerSecond = "apply_projection_events_per_s"
            case projectEventsPerSecond = "project_events_per_s"
            case rebuildEvents = "rebuild_events"
            case rebuildSeconds = "rebuild_10m_seconds"
            case rebuildGuilds = "rebuild_guilds"
            case rebuildPeople = "rebuild_people"
            case readModelBytes = "read_model_bytes"
            case snapshotWriteSeconds = "snapshot_write_seconds"
            case snapshotRestoreSeconds = "snapshot_restore_seconds"
            case snapshotBytes = "snapshot_bytes"
        }
    }

    func run() async throws {
        let results = try await measure(logger: logging.makeLogger())
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(results), as: UTF8.self))
        } else {
            print(Self.table(results))
        }
    }

    static func table(_ r: Results) -> String {
        func rate(_ v: Double) -> String { String(format: "%12.0f", v) }
        return """
            tally bench domain — \(machineDescription())
            \(r.events) events of the log benchmark's workload

            measure                                   events/s   vs read+decode
            log read + domain decode              \(rate(r.readEventsPerSecond))
            replay + apply into guild state       \(rate(r.applyEventsPerSecond))   \(String(format: "%.2f×", r.applyEventsPerSecond / r.readEventsPerSecond))
            replay + fold for read models         \(rate(r.foldEventsPerSecond))   \(String(format: "%.2f×", r.foldEventsPerSecond / r.readEventsPerSecond))
            replay + project into SQLite          \(rate(r.projectEventsPerSecond))   \(String(format: "%.2f×", r.projectEventsPerSecond / r.readEventsPerSecond))

            snapshot of the partition (\(r.events) events, with idempotency keys): \(formatBytes(Int64(r.snapshotBytes))), \
            written in \(String(format: "%.2f", r.snapshotWriteSeconds)) s, restored in \(String(format: "%.2f", r.snapshotRestoreSeconds)) s

            full rebuild of every projection: \(r.rebuildEvents) events in \(String(format: "%.1f", r.rebuildSeconds)) s \
            (\(r.rebuildGuilds) guilds, \(r.rebuildPeople) people, \(formatBytes(Int64(r.readModelBytes))) of SQLite)
            """
    }

    func measure(logger: Logger) async throws -> Results {
        let root =
            directory
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("tally-bench-domain-\(getpid())").path
        try? FileManager.default.removeItem(atPath: root)
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { if directory == nil { try? FileManager.default.removeItem(atPath: root) } }
        var results = Results()
        results.events = events

        progress("writing \(events) events")
        let log = try await Self.writeWorkload(events: events, to: root + "/log", logger: logger)

        progress("log read + decode")
        var sink = 0
        let readSeconds = try best(of: 2) {
            try log.read(LogQuery()) { record in
                sink &+= Int(
                    BenchWorkload.decodePayload(type: record.type, version: record.typeVersion, record.payload))
            }
        }
        results.readEventsPerSecond = Double(events) / readSeconds

        progress("replay + apply")
        let applySeconds = try best(of: 2) {
            var model = PartitionModel()
            try log.read(LogQuery()) { record in model.apply(try EventCodec.decode(record)) }
            sink &+= model.guilds.count
        }
        results.applyEventsPerSecond = Double(events) / applySeconds

        progress("replay + fold for read models (no idempotency keys)")
        let foldSeconds = try best(of: 2) {
            var model = PartitionModel(remembersKeys: false)
            try log.read(LogQuery()) { record in model.apply(try EventCodec.decode(record)) }
            sink &+= model.guilds.count
        }
        results.foldEventsPerSecond = Double(events) / foldSeconds

        progress("snapshot of the partition's state, and restoring from it")
        var full = PartitionModel()
        try log.read(LogQuery()) { record in full.apply(try EventCodec.decode(record)) }
        let snapshotDirectory = root + "/snapshot-partition"
        let writeStart = ContinuousClock.now
        let snapshotPath = try full.writeSnapshot(partition: PartitionID(0), partitionDirectory: snapshotDirectory)
        results.snapshotWriteSeconds = (ContinuousClock.now - writeStart).seconds
        results.snapshotBytes = (try? FileManager.default.attributesOfItem(atPath: snapshotPath)[.size] as? Int) ?? 0
        var restored: PartitionModel? = nil
        results.snapshotRestoreSeconds = best(of: 2) {
            restored = PartitionModel.loadNewestSnapshot(
                partition: PartitionID(0), partitionDirectory: snapshotDirectory)
        }
        precondition(restored?.guilds == full.guilds, "the snapshot must restore the same state")

        progress("replay + project into SQLite")
        let store = try ReadModelStore(path: root + "/project.sqlite")
        var projector = Projector(log: log, store: store)
        let projectStart = ContinuousClock.now
        try projector.catchUp()
        results.projectEventsPerSecond = Double(events) / (ContinuousClock.now - projectStart).seconds
        await log.close()

        if rebuildEvents > 0 {
            progress("writing \(rebuildEvents) events for the rebuild")
            let big = try await Self.writeWorkload(events: rebuildEvents, to: root + "/big", logger: logger)
            progress("full rebuild")
            let report = try Rebuilder(log: big, livePath: root + "/rebuild.sqlite").rebuild { applied, end in
                progress("rebuild: \(applied)/\(end.rawValue)")
            }
            results.rebuildEvents = Int(report.events)
            results.rebuildSeconds = report.seconds
            let rebuilt = try ReadModelStore(path: root + "/rebuild.sqlite")
            let dump = try rebuilt.dump()
            results.rebuildPeople = dump.lazy.filter { $0.hasPrefix("people ") }.count
            results.rebuildGuilds = dump.lazy.filter { $0.hasPrefix("guilds ") }.count
            results.readModelBytes =
                (try? FileManager.default.attributesOfItem(atPath: root + "/rebuild.sqlite")[.size] as? Int) ?? 0
            await big.close()
        }
        precondition(sink != 42, "keeps the decode work observable")
        return results
    }

    /// Appends `events` of the benchmark workload to a fresh partition log, in large batches.
    /// - Parameter days: the log time the events span (nil: a burst of about 1.5 ms per event).
    static func writeWorkload(events: Int, to directory: String, days: Double? = nil, logger: Logger) async throws
        -> PartitionLog
    {
        let log = try PartitionLog.openForWriting(
            directory: directory, partition: PartitionID(0), epoch: .initial, logger: logger)
        var workload = BenchWorkload()
        if let days { workload.clockStep = max(4, UInt64(2 * days * 86_400_000 / Double(max(events, 1)))) }
        var written = 0
        while written < events {
            let n = min(200_000, events - written)
            var records: [Record] = []
            records.reserveCapacity(n)
            for _ in 0..<n { records.append(BenchWorkload.record(workload.next())) }
            for start in stride(from: 0, to: n, by: 8192) {
                _ = try await log.append(Array(records[start..<min(n, start + 8192)]))
            }
            written += n
        }
        return log
    }

    private func progress(_ message: String) {
        FileHandle.standardError.write(Data("bench: \(message)\n".utf8))
    }
}
