import ArgumentParser
import EventLog
import Foundation
import Logging

/// `tally log append-test`: appends self-checking records in a loop and prints each acknowledged
/// range. The crash tests kill it with SIGKILL and then check every printed range survived.
struct AppendTest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "append-test",
        abstract: "Append self-checking records until killed, printing each acknowledged offset range.",
        discussion: """
            Each line printed is `ack WRITER COUNTER FIRST END`: the append's records occupy offsets
            FIRST..<END and are durable. Used by the crash tests; also a quick way to load a disk.
            """
    )

    @Argument(help: "The data directory (created with one partition if missing).")
    var directory: String

    @Option(help: "The partition to append to.")
    var partition: UInt32 = 0

    @Option(help: "The writer's epoch.")
    var epoch: UInt64 = 1

    @Option(help: "Concurrent appenders.")
    var appenders: Int = 4

    @Option(help: "Largest payload in bytes; sizes are drawn from 16 up to this.")
    var maxPayload: Int = 4096

    @Option(help: "Stop after this many appends per appender (0 = until killed).")
    var count: Int = 0

    @Option(help: "Segment size limit in bytes.")
    var segmentBytes: Int64 = 64 << 20

    @Option(help: "Random seed.")
    var seed: UInt64 = 1

    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let logger = logging.makeLogger()
        let data = try DataDirectory.open(path: directory, creatingWith: max(1, Int(partition) + 1))
        var configuration = PartitionLog.Configuration()
        configuration.segmentMaxBytes = segmentBytes
        let p = PartitionID(partition)
        let log = try PartitionLog.openForWriting(
            directory: data.directory(of: p), partition: p, epoch: Epoch(epoch), configuration: configuration,
            logger: logger)
        let startCounter = UInt64(log.endOffset.rawValue) + 1
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<appenders {
                group.addTask {
                    var rng = SplitMix64(seed: seed ^ UInt64(writer) << 32 ^ startCounter)
                    var counter = startCounter << 8
                    var n = 0
                    while count == 0 || n < count {
                        let records = (0..<Int(1 + rng.next() % 3)).map { _ -> Record in
                            counter += 1
                            let size = 16 + Int(rng.next() % UInt64(max(1, maxPayload - 15)))
                            return Record(
                                guild: GuildID(1 + rng.next() % 50), sequence: counter,
                                timestamp: Timestamp(milliseconds: 1_700_000_000_000 + Int64(counter)),
                                type: EventTypeTag(UInt16(writer)),
                                payload: SelfCheckingPayload.make(
                                    writer: UInt32(writer), counter: counter, length: size))
                        }
                        let range = try await log.append(records)
                        AckPrinter.print("ack \(writer) \(counter) \(range.lowerBound) \(range.upperBound)\n")
                        n += 1
                    }
                }
            }
            try await group.waitForAll()
        }
        await log.close()
    }
}

/// Writes whole lines with one `write(2)` each, so a killed process never leaves a line half-printed
/// in a buffer.
enum AckPrinter {
    static func print(_ line: String) {
        var bytes = Array(line.utf8)
        bytes.withUnsafeMutableBytes { raw in
            var done = 0
            while done < raw.count {
                let n = write(1, raw.baseAddress! + done, raw.count - done)
                if n <= 0 { return }
                done += n
            }
        }
    }
}
