import ArgumentParser
import CLZ4
import EventLog
import Foundation
import GRDB
import Logging

/// `tally bench log`: the partition log against its bounds (raw LZ4) and its peers (SQLite).
struct LogBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "Benchmark durable append, reads and storage of the partition log against LZ4 and SQLite."
    )

    @Option(help: "Events in the generated workload.")
    var events: Int = 1_000_000

    @Option(help: "Events written into each SQLite peer (they are slower; rates are per second).")
    var sqliteEvents: Int = 200_000

    @Option(help: "Concurrent appenders in the durable-append run.")
    var appenders: Int = 8

    @Option(help: "Records per append call in the durable-append run.")
    var recordsPerAppend: Int = 256

    @Option(help: "Concurrent single-record appenders in the small-append run.")
    var smallAppenders: Int = 64

    @Option(help: "Where to put the benchmark's files (a fresh temporary directory by default).")
    var directory: String?

    @Option(
        help: ArgumentHelp(
            "Benchmark the PostgreSQL store at this URL (an empty scratch database) instead of files.",
            discussion:
                "Measures COPY and INSERT-per-event baselines in the same run; default $TALLY_STORE is not used."))
    var store: String?

    @Option(help: "With --store: events written by the one-INSERT-per-transaction baseline.")
    var rowInsertEvents: Int = 20_000

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard events > 0, appenders > 0, recordsPerAppend > 0, rowInsertEvents > 0 else {
            throw ValidationError(
                "--events, --appenders, --records-per-append and --row-insert-events must be positive")
        }
    }

    func run() async throws {
        if let store {
            let bench = PostgresLogBench(
                url: store, events: events, rowInsertEvents: rowInsertEvents, appenders: appenders,
                recordsPerAppend: recordsPerAppend)
            let results = try await bench.measure(logger: logging.makeLogger())
            print(json ? results.json : results.table)
            return
        }
        let results = try await measure(logger: logging.makeLogger())
        if json {
            print(results.json)
        } else {
            print(
                results.table(appenders: appenders, recordsPerAppend: recordsPerAppend, smallAppenders: smallAppenders))
        }
    }

    func measure(logger: Logger) async throws -> BenchResults {
        let root =
            directory ?? FileManager.default.temporaryDirectory.appendingPathComponent("tally-bench-\(getpid())").path
        try? FileManager.default.removeItem(atPath: root)
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { if directory == nil { try? FileManager.default.removeItem(atPath: root) } }

        progress("generating \(events) events over 10,000 guilds and 300,000 users")
        var workload = BenchWorkload()
        var generated: [BenchWorkload.Event] = []
        generated.reserveCapacity(events)
        for _ in 0..<events { generated.append(workload.next()) }
        let records = generated.map(BenchWorkload.record)
        let encodedBytes = records.reduce(0) { $0 + $1.payload.count }
        var results = BenchResults()
        results.events = events
        results.machine = machineDescription()

        // 1. Durable append: several appenders, group commit, fsync per batch.
        progress("durable append: \(appenders) appenders × \(recordsPerAppend) records per append")
        let logDirectory = root + "/log"
        let partition = PartitionID(0)
        var configuration = PartitionLog.Configuration()
        configuration.fsync = .always
        let writer = try PartitionLog.openForWriting(
            directory: logDirectory, partition: partition, epoch: .initial, configuration: configuration, logger: logger
        )
        let chunks = stride(from: 0, to: records.count, by: recordsPerAppend).map {
            Array(records[$0..<min($0 + recordsPerAppend, records.count)])
        }
        let appendSeconds = try await timed {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for a in 0..<appenders {
                    group.addTask {
                        for i in stride(from: a, to: chunks.count, by: appenders) {
                            _ = try await writer.append(chunks[i])
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        let stats = writer.statistics
        await writer.close()
        results.appendEventsPerSecond = Double(events) / appendSeconds
        results.appendMBPerSecond = Double(stats.storedBytes) / appendSeconds / 1e6
        results.batches = stats.batches
        results.eventsPerBatch = Double(events) / Double(stats.batches)
        results.storedBytesPerEvent = Double(stats.storedBytes) / Double(events)
        results.indexBytesPerEvent = Double(indexBytes(logDirectory)) / Double(events)
        results.payloadBytesPerEvent = Double(encodedBytes) / Double(events)

        // 2. Small appends: one record per call, many callers: what a busy shard's commands see.
        progress("small appends: \(smallAppenders) appenders × 1 record per append")
        let smallDirectory = root + "/small"
        let small = try PartitionLog.openForWriting(
            directory: smallDirectory, partition: partition, epoch: .initial, configuration: configuration,
            logger: logger)
        let smallCount = min(events, 100_000)
        let smallSeconds = try await timed {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for a in 0..<smallAppenders {
                    group.addTask {
                        for i in stride(from: a, to: smallCount, by: smallAppenders) {
                            _ = try await small.append([records[i]])
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        results.smallAppendEventsPerSecond = Double(smallCount) / smallSeconds
        results.smallAppendEventsPerBatch = Double(smallCount) / Double(small.statistics.batches)
        await small.close()

        // 3. Sequential read: checksum, decompression, record decoding and payload decoding.
        progress("sequential read of \(events) events")
        let reader = try PartitionLog.openForReading(directory: logDirectory, partition: partition, logger: logger)
        var sink: UInt64 = 0
        var readCount = 0
        let readSeconds = try best(of: 3) {
            readCount = 0
            try reader.read(LogQuery()) { record in
                // The log's decoding of every record: guild, sequence, time, type and payload bytes.
                // (Decoding payloads into domain events is `tally bench domain`'s read_decode figure.)
                sink &+= record.guild.rawValue &+ record.sequence &+ UInt64(bitPattern: record.timestamp.rawValue)
                sink &+=
                    UInt64(record.type.rawValue) &+ UInt64(record.payload.count) &+ UInt64(record.payload.first ?? 0)
                readCount += 1
            }
        }
        precondition(readCount == events, "read \(readCount) of \(events) events")
        results.readEventsPerSecond = Double(events) / readSeconds
        results.readMBPerSecond = Double(stats.storedBytes) / readSeconds / 1e6

        // 4. Guild read: one mid-sized guild's history, skipping batches the index rules out.
        let rank = 999
        let guild = workload.guild(rank: rank)
        var guildCount = 0
        var guildStats = ReadStatistics()
        let guildSeconds = try best(of: 3) {
            guildCount = 0
            guildStats = try reader.read(LogQuery(guild: guild)) { record in
                sink &+= BenchWorkload.decodePayload(type: record.type, version: record.typeVersion, record.payload)
                guildCount += 1
            }
        }
        let expectedGuildCount = generated.lazy.filter { $0.guild == guild }.count
        precondition(guildCount == expectedGuildCount, "guild read found \(guildCount) of \(expectedGuildCount)")
        results.guildReadEvents = guildCount
        results.guildReadEventsPerSecond = Double(guildCount) / guildSeconds
        results.guildReadScannedEventsPerSecond = Double(events) / guildSeconds
        results.guildReadBatchesRead = guildStats.batchesRead
        results.guildReadBatchesSkipped = guildStats.batchesSkipped

        // 5. The bound: raw LZ4 over the same encoded bytes, in the same block sizes.
        progress("raw LZ4 over the same bytes and block sizes")
        let blockEvents = max(1, Int(results.eventsPerBatch.rounded()))
        var encoder = BatchEncoder()
        var bodies: [[UInt8]] = []
        for start in stride(from: 0, to: records.count, by: blockEvents) {
            _ = encoder.encode(
                records[start..<min(start + blockEvents, records.count)], baseOffset: .zero, epoch: .initial,
                compress: false)
            bodies.append(Array(encoder.batch[64...]))
        }
        let (compressSeconds, decompressSeconds, _) = lz4RoundTrip(bodies)
        results.lz4CompressEventsPerSecond = Double(events) / compressSeconds
        results.lz4DecompressEventsPerSecond = Double(events) / decompressSeconds

        // 6. JSON lines + LZ4 in the same blocks.
        var jsonCompressed = 0
        var scratch: [UInt8] = []
        for start in stride(from: 0, to: generated.count, by: blockEvents) {
            var text = ""
            for e in generated[start..<min(start + blockEvents, generated.count)] { text += BenchWorkload.jsonLine(e) }
            let bytes = Array(text.utf8)
            jsonCompressed += bytes.withUnsafeBytes { LZ4Block.compress($0, into: &scratch) } ?? bytes.count
        }
        results.jsonLZ4BytesPerEvent = Double(jsonCompressed) / Double(events)

        // 7. The peers: SQLite at equal durability (WAL, synchronous=FULL, a transaction per batch).
        let peerEvents = min(sqliteEvents, events)
        progress("SQLite row per event: \(peerEvents) events, \(blockEvents) per transaction")
        results.sqliteAppendEventsPerSecond = try sqliteRows(
            path: root + "/rows.sqlite", records: records[..<peerEvents], perTransaction: blockEvents)
        progress("SQLite upsert of running totals per event: \(peerEvents) events")
        results.sqliteUpsertEventsPerSecond = try sqliteUpserts(
            path: root + "/upserts.sqlite", events: generated[..<peerEvents], perTransaction: blockEvents)
        results.sqliteEvents = peerEvents
        results.checksum = sink
        return results
    }

    private func progress(_ message: String) {
        FileHandle.standardError.write(Data("bench: \(message)\n".utf8))
    }
}

// MARK: Measurements

func timed(_ body: () async throws -> Void) async rethrows -> Double {
    let start = ContinuousClock.now
    try await body()
    return (ContinuousClock.now - start).seconds
}

func best(of runs: Int, _ body: () throws -> Void) rethrows -> Double {
    var fastest = Double.infinity
    for _ in 0..<runs {
        let start = ContinuousClock.now
        try body()
        fastest = min(fastest, (ContinuousClock.now - start).seconds)
    }
    return fastest
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

/// Times `LZ4_compress_default` and `LZ4_decompress_safe` over each block (best of three each).
func lz4RoundTrip(_ blocks: [[UInt8]]) -> (compress: Double, decompress: Double, compressedBytes: Int) {
    let compressed: [[UInt8]] = blocks.map { block in
        let bound = Int(LZ4_compressBound(Int32(block.count)))
        var out = [UInt8](repeating: 0, count: bound)
        let n = block.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { dst in
                LZ4_compress_default(
                    src.baseAddress!.assumingMemoryBound(to: CChar.self),
                    dst.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(block.count), Int32(bound))
            }
        }
        return Array(out[..<Int(n)])
    }
    var scratch = [UInt8](repeating: 0, count: Int(LZ4_compressBound(Int32(blocks.map(\.count).max() ?? 0))))
    let compressSeconds = best(of: 3) {
        for block in blocks {
            _ = block.withUnsafeBytes { src in
                scratch.withUnsafeMutableBytes { dst in
                    LZ4_compress_default(
                        src.baseAddress!.assumingMemoryBound(to: CChar.self),
                        dst.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(block.count),
                        Int32(dst.count))
                }
            }
        }
    }
    let decompressSeconds = best(of: 3) {
        for (block, packed) in zip(blocks, compressed) {
            let n = packed.withUnsafeBytes { src in
                scratch.withUnsafeMutableBytes { dst in
                    LZ4_decompress_safe(
                        src.baseAddress!.assumingMemoryBound(to: CChar.self),
                        dst.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(packed.count),
                        Int32(dst.count))
                }
            }
            precondition(Int(n) == block.count)
        }
    }
    return (compressSeconds, decompressSeconds, compressed.reduce(0) { $0 + $1.count })
}

func indexBytes(_ directory: String) -> Int {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
    return names.filter { $0.hasSuffix(".index") }.reduce(0) { total, name in
        let size = (try? FileManager.default.attributesOfItem(atPath: directory + "/" + name))?[.size] as? Int
        return total + (size ?? 0)
    }
}

func machineDescription() -> String {
    let cpu =
        (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
        .split(separator: "\n").first { $0.hasPrefix("model name") }?
        .split(separator: ":").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown CPU"
    let memory = ProcessInfo.processInfo.physicalMemory / (1 << 30)
    return "\(ProcessInfo.processInfo.activeProcessorCount) cores, \(cpu), \(memory) GiB"
}
