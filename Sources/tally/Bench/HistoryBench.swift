import ArgumentParser
import Domain
import EventLog
import Foundation
import Logging
import Projections
import Shard

/// `tally bench history`: work per request against a guild's history — duplicates answered per
/// second and `/audit` page latency, for a guild with a short history (the baseline) and one with a
/// long history, measured in the same run.
struct HistoryBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "Benchmark duplicates answered per second and audit page latency at two history lengths.")

    @Option(help: "Events in the short (baseline) guild history.") var short: Int = 1_000
    @Option(help: "Events in the long guild history.") var long: Int = 1_000_000
    @Option(help: "Duplicate commands to answer per history.") var duplicates: Int = 20_000
    @Option(help: "Audit pages to read per history.") var pages: Int = 20
    @Option(help: "Entries per audit page.") var limit: Int = 100
    @Option(help: "Records per append while writing the histories (a duplicate decodes its whole batch).")
    var recordsPerAppend: Int = 8192
    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard short >= 10, long >= short, duplicates >= 100, pages >= 2, (1...1000).contains(limit) else {
            throw ValidationError(
                "need --short ≥ 10, --long ≥ --short, --duplicates ≥ 100, --pages ≥ 2, --limit 1…1000")
        }
    }

    struct Figures {
        var events: Int
        var duplicatesPerSecond: Double
        var auditP50: Duration
        var auditP99: Duration
        /// The first page of the guild (which folds its whole history once to build checkpoints).
        var auditFirst: Duration
        /// One page read by folding the history from the guild's first event (the old way).
        var auditFullReplay: Duration
    }

    func run() async throws {
        let logger = logging.makeLogger()
        var rows: [Figures] = []
        for events in [short, long] {
            rows.append(try await measure(events: events, logger: logger))
        }
        let ratio = rows[0].duplicatesPerSecond / max(rows[1].duplicatesPerSecond, 1)
        print("tally bench history — \(machineDescription())")
        print(
            "events per guild | duplicates answered per second | audit page p50 | audit page p99 | first audit page | a page by full replay"
        )
        for row in rows {
            print(
                "\(row.events) | \(String(format: "%.0f", row.duplicatesPerSecond)) | \(Self.ms(row.auditP50)) | \(Self.ms(row.auditP99)) | \(Self.ms(row.auditFirst)) | \(Self.ms(row.auditFullReplay))"
            )
        }
        print(
            "duplicates: the short history answers \(String(format: "%.2f", ratio))× as many per second as the long one (goal ≤ 2×)"
        )
    }

    static func ms(_ d: Duration) -> String {
        String(format: "%.2f ms", Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15)
    }

    /// Writes `events` commands of one guild (each its own command with a key, as chat is), acquires
    /// the partition like a shard does, then answers duplicates of remembered keys and reads audit pages.
    func measure(events: Int, logger: Logger) async throws -> Figures {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent(
            "tally-bench-history-\(getpid())-\(events)"
        )
        .path
        try? FileManager.default.removeItem(atPath: root)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let data = try DataDirectory.open(path: root, creatingWith: 1)
        let guild = GuildID(5_033_164_800_000_000_000)
        let start: Int64 = 1_796_083_200_000
        FileHandle.standardError.write(Data("bench: writing \(events) events of one guild\n".utf8))
        let log = try PartitionLog.openForWriting(
            directory: data.directory(of: PartitionID(0)), partition: PartitionID(0), epoch: .initial, logger: logger)
        var written = 0
        while written < events {
            let n = min(max(1, recordsPerAppend), events - written)
            let records = (written..<(written + n)).map { i in
                EventCodec.record(
                    .pointsAdjusted(
                        .discord(UserID(1_100_000_000_000_000_000 + UInt64(i % 500))), delta: 1, reason: "chat",
                        by: UserID(1)),
                    guild: guild, sequence: UInt64(i + 1), timestamp: Timestamp(milliseconds: start + Int64(i)),
                    key: "message-\(i)")
            }
            _ = try await log.append(records)
            written += n
        }
        await log.close()
        let node = ShardNode(configuration: .init(data: data), logger: logger)
        _ = try await node.owner(of: PartitionID(0))

        // Duplicates of keys the guild still remembers (the newest ones, within the count bound).
        let remembered = min(events, IdempotencyKeys.maximumCount)
        var generator = SplitMix64(seed: 7)
        let began = ContinuousClock.now
        for _ in 0..<duplicates {
            let i = events - 1 - Int(generator.next() % UInt64(remembered))
            let outcome = try await node.handle(
                .adjustPoints(.discord(UserID(1_100_000_000_000_000_000)), delta: 1, reason: "chat"), guild: guild,
                context: CommandContext(key: "message-\(i)", time: Timestamp(milliseconds: start + Int64(events))))
            precondition(outcome.duplicate && outcome.events.count == 1, "message-\(i) was not answered as a duplicate")
        }
        let perSecond = Double(duplicates) / max((ContinuousClock.now - began).seconds, 1e-9)

        // Audit pages as `GET /audit` reads them: the newest, then pages before random offsets, as
        // a client pages back. The first page of a guild builds its checkpoints (reported apart).
        let t0 = ContinuousClock.now
        _ = try await node.auditPage(guild: guild, person: nil, before: nil, limit: limit)
        let firstPage = ContinuousClock.now - t0
        var latencies: [Duration] = []
        for page in 0..<pages {
            let before = page == 0 ? nil : Offset(UInt64(limit) + generator.next() % UInt64(max(1, events - limit)))
            let t0 = ContinuousClock.now
            let entries = try await node.auditPage(guild: guild, person: nil, before: before, limit: limit).entries
            latencies.append(ContinuousClock.now - t0)
            precondition(!entries.isEmpty, "an audit page came back empty")
        }
        // The baseline: a page as it was read before the checkpoints, by folding the guild's history
        // from its first event.
        let history = try await node.history(for: guild)
        let t1 = ContinuousClock.now
        let replayed = try await BlockingIOPool.shared.run { try history.audit(guild: guild).suffix(limit) }
        let fullReplay = ContinuousClock.now - t1
        precondition(replayed.count == limit)
        await node.shutdown()
        latencies.sort()
        return Figures(
            events: events, duplicatesPerSecond: perSecond, auditP50: latencies[latencies.count / 2],
            auditP99: latencies[min(latencies.count - 1, Int((Double(latencies.count) * 0.99).rounded(.up)) - 1)],
            auditFirst: firstPage, auditFullReplay: fullReplay)
    }
}
