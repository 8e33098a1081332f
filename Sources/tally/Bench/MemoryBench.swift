import ArgumentParser
import Domain
import EventLog
import Foundation
import Logging
import Shard

/// `tally bench memory`: resident memory of a shard holding the benchmark workload's guilds.
struct MemoryBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "memory",
        abstract:
            "Load the benchmark workload (10,000 guilds, ~570,000 people) into a partition owner and report resident memory."
    )

    @Option(help: "Events to write and load.") var events: Int = 1_000_000
    @Option(
        help:
            "Spread the events over this many days of log time (a week of chat: 7); by default they are a burst of ~1.5 ms each."
    )
    var days: Double?
    @Option(help: "Where to put the data (a fresh temporary directory by default).") var directory: String?
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let logger = logging.makeLogger()
        let root =
            directory
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("tally-bench-memory-\(getpid())").path
        try? FileManager.default.removeItem(atPath: root)
        defer { if directory == nil { try? FileManager.default.removeItem(atPath: root) } }
        // One partition, so every guild of the workload maps to the partition written.
        let data = try DataDirectory.open(path: root, creatingWith: 1)
        FileHandle.standardError.write(Data("bench: writing \(events) events\n".utf8))
        let log = try await DomainBench.writeWorkload(
            events: events, to: data.directory(of: PartitionID(0)), days: days, logger: logger)
        await log.close()
        let before = Self.residentBytes()
        let start = ContinuousClock.now
        let owner = try await PartitionOwner.acquire(
            data: data, partition: PartitionID(0), epoch: Epoch(2), logger: logger)
        let acquired = (ContinuousClock.now - start).seconds
        let after = Self.residentBytes()
        var people = 0
        var keys = 0
        let guilds = await owner.guilds
        for g in guilds {
            people += await owner.state(of: g)?.people.count ?? 0
            keys += await owner.state(of: g)?.keys.count ?? 0
        }
        let snapshotStart = ContinuousClock.now
        _ = try await owner.snapshot()
        let snapshotSeconds = (ContinuousClock.now - snapshotStart).seconds
        await owner.release()
        let restoreStart = ContinuousClock.now
        let again = try await PartitionOwner.acquire(
            data: data, partition: PartitionID(0), epoch: Epoch(3), logger: logger)
        let restoreSeconds = (ContinuousClock.now - restoreStart).seconds
        await again.release()
        print(
            """
            tally bench memory — \(machineDescription())
            \(events) events\(days.map { " over \($0) days" } ?? ""), \(guilds.count) guilds, \(people) people, \(keys) idempotency keys remembered in one partition owner
            resident memory: \(formatBytes(Int64(before))) before acquiring, \(formatBytes(Int64(after))) after \
            (\(formatBytes(Int64(after - before))) for the state, \(String(format: "%.0f", Double(after - before) / Double(max(1, people)))) bytes per person)
            acquire by replaying the whole log: \(String(format: "%.2f", acquired)) s; snapshot written in \(String(format: "%.2f", snapshotSeconds)) s; \
            acquire from the snapshot: \(String(format: "%.2f", restoreSeconds)) s
            """)
    }

    /// VmRSS from /proc/self/status.
    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return 0 }
        return (Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) * 1024
    }
}
