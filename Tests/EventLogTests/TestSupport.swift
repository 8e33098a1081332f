import Foundation
import Logging
import TallyTesting

@testable import EventLog

func makeRecord(guild: UInt64, sequence: UInt64, size: Int, writer: UInt32 = 0, time: Int64? = nil) -> Record {
    Record(
        guild: GuildID(guild), sequence: sequence,
        timestamp: Timestamp(milliseconds: time ?? (1_700_000_000_000 + Int64(sequence))),
        type: EventTypeTag(UInt16(truncatingIfNeeded: sequence % 7)), typeVersion: 1,
        payload: size == 0 ? [] : SelfCheckingPayload.make(writer: writer, counter: sequence, length: max(size, 16)))
}

func openWriter(
    _ directory: String, epoch: UInt64 = 1, segmentBytes: Int64 = 64 << 20, batchBytes: Int = 1 << 20,
    fsync: FsyncPolicy = .always
) throws -> PartitionLog {
    var configuration = PartitionLog.Configuration()
    configuration.segmentMaxBytes = segmentBytes
    configuration.maxBatchBytes = batchBytes
    configuration.fsync = fsync
    return try PartitionLog.openForWriting(
        directory: directory, partition: PartitionID(0), epoch: Epoch(epoch), configuration: configuration,
        logger: testLogger)
}

func openReader(_ directory: String) throws -> PartitionLog {
    try PartitionLog.openForReading(directory: directory, partition: PartitionID(0), logger: testLogger)
}

/// The `tally` executable built beside the test bundle (or `TALLY_BINARY`).
var tallyBinary: String {
    if let path = ProcessInfo.processInfo.environment["TALLY_BINARY"] { return path }
    let bundleDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    return bundleDirectory.appendingPathComponent("tally").path
}

/// Segment files of a partition directory, oldest first.
func segmentPaths(_ directory: String) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".log") }.sorted()
        .map { directory + "/" + $0 }
}

func fileSize(_ path: String) -> Int64 {
    ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value ?? -1
}

func truncateFile(_ path: String, to length: Int64) {
    precondition(truncate(path, off_t(length)) == 0, "truncate \(path)")
}

func flipBit(_ path: String, at position: Int64, bit: UInt8 = 0) {
    let handle = FileHandle(forUpdatingAtPath: path)!
    defer { try? handle.close() }
    try! handle.seek(toOffset: UInt64(position))
    var byte = try! handle.read(upToCount: 1)!
    byte[byte.startIndex] ^= 1 << bit
    try! handle.seek(toOffset: UInt64(position))
    try! handle.write(contentsOf: byte)
}

/// Replaces a partition's recovery point with one at `offset` (as a crash before later batches were
/// recorded durable would leave it).
func setRecoveryPoint(_ directory: String, to offset: Offset) {
    let point = RecoveryPoint(offset: offset, sequence: 1)
    try! FileSystem.writeAtomically(point.encode(), to: RecoveryPoint.path(in: directory))
}
