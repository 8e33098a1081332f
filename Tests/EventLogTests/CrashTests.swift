import Foundation
import TallyTesting
import Testing

@testable import EventLog

/// Real processes: a writer killed with SIGKILL at random moments, and two processes contending for
/// one partition. They run the `tally` executable built beside the tests.
@Suite(.serialized, .timeLimit(.minutes(10))) struct CrashTests {
    /// An acknowledged append as the child printed it.
    struct Ack: Hashable {
        var writer: UInt32
        var lastCounter: UInt64
        var range: Range<UInt64>
    }

    static func parseAcks(_ output: String) -> [Ack] {
        output.split(separator: "\n", omittingEmptySubsequences: true).compactMap { line in
            let f = line.split(separator: " ")
            guard f.count == 5, f[0] == "ack", let w = UInt32(f[1]), let c = UInt64(f[2]), let a = UInt64(f[3]),
                let b = UInt64(f[4]), a < b
            else { return nil }
            return Ack(writer: w, lastCounter: c, range: a..<b)
        }
    }

    /// Starts `tally log append-test` on partition 0 of `directory`.
    static func startWriter(_ directory: String, seed: Int, extra: [String] = []) throws -> (Process, Pipe) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tallyBinary)
        process.arguments =
            [
                "log", "append-test", directory, "--appenders", "4", "--max-payload", "1500",
                "--segment-bytes", "262144", "--seed", String(seed),
            ] + extra
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        return (process, pipe)
    }

    @Test func everyAcknowledgedAppendSurvivesSIGKILL() async throws {
        #expect(FileManager.default.isExecutableFile(atPath: tallyBinary), "build tally first: \(tallyBinary)")
        let dir = TemporaryDirectory()
        let seed = UInt64(
            ProcessInfo.processInfo.environment["TALLY_CRASH_SEED"].flatMap(UInt64.init)
                ?? UInt64(Date().timeIntervalSince1970))
        let rounds = Int(ProcessInfo.processInfo.environment["TALLY_CRASH_ROUNDS"] ?? "") ?? 20
        var rng = SplitMix64(seed: seed)
        var acknowledged: [Ack] = []
        var killedWithAcks = 0
        for round in 0..<rounds {
            let (process, pipe) = try Self.startWriter(dir.path, seed: round)
            // Let it append for a random while, then kill it without warning.
            let millis = 30 + Int(rng.next() % 400)
            try await Task.sleep(for: .milliseconds(millis))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            #expect(process.terminationReason == .uncaughtSignal, "seed \(seed) round \(round): child exited early")
            let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            let acks = Self.parseAcks(output)
            if !acks.isEmpty { killedWithAcks += 1 }
            acknowledged += acks

            // Read what survived without repairing anything, as a reader beside a crashed writer would.
            let log = try PartitionLog.openForReading(
                directory: dir.path + "/partitions/p00000", partition: PartitionID(0), logger: testLogger)
            var byOffset: [UInt64: (writer: UInt32, counter: UInt64)] = [:]
            try log.read(LogQuery()) { record in
                guard let identity = SelfCheckingPayload.check(record.payload) else {
                    Issue.record("seed \(seed) round \(round): record at \(record.offset) is damaged")
                    return
                }
                #expect(record.sequence == identity.counter)
                byOffset[record.offset.rawValue] = identity
            }
            #expect(
                byOffset.count == Int(log.endOffset.rawValue), "seed \(seed) round \(round): offsets not contiguous")
            for ack in acknowledged {
                for (i, offset) in ack.range.enumerated() {
                    let expectedCounter = ack.lastCounter - UInt64(ack.range.count - 1 - i)
                    guard let found = byOffset[offset] else {
                        Issue.record("seed \(seed) round \(round): acknowledged offset \(offset) is missing")
                        continue
                    }
                    #expect(
                        found.writer == ack.writer && found.counter == expectedCounter,
                        "seed \(seed) round \(round): offset \(offset) holds another record")
                }
            }
            await log.close()
        }
        #expect(killedWithAcks >= rounds / 2, "seed \(seed): too few rounds acknowledged anything to test")
        // A writer recovers the last torn tail; afterwards verify finds no damage at all.
        let recovered = try PartitionLog.openForWriting(
            directory: dir.path + "/partitions/p00000", partition: PartitionID(0), epoch: .initial, logger: testLogger)
        #expect(recovered.endOffset.rawValue >= acknowledged.map(\.range.upperBound).max() ?? 0)
        await recovered.close()
        let report = try LogVerifier.verify(directory: dir.path + "/partitions/p00000", partition: PartitionID(0))
        #expect(report.findings.isEmpty, "seed \(seed): \(report.findings)")
        #expect(report.segments > 1, "the runs should have rolled segments")
    }

    @Test func secondProcessIsRefusedWithTheOwnersPid() async throws {
        let dir = TemporaryDirectory()
        let (process, pipe) = try Self.startWriter(dir.path, seed: 1)
        defer {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        // Wait until the child has the partition (its first acknowledgement).
        let first = pipe.fileHandleForReading.availableData
        #expect(!first.isEmpty)
        do {
            _ = try openWriter(dir.path + "/partitions/p00000")
            Issue.record("a second writer opened a locked partition")
        } catch let error as EventLogError {
            #expect(error.code == .locked)
            #expect(error.message.contains("pid \(process.processIdentifier)"), "\(error)")
        }
        // Once the owner dies, the kernel drops its lock and the partition can be taken over.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let takeover = try openWriter(dir.path + "/partitions/p00000", epoch: 2)
        #expect(takeover.endOffset > .zero)
        await takeover.close()
    }

    @Test func verifyCommandExitsOneOnCorruption() async throws {
        let dir = TemporaryDirectory()
        let (process, _) = try Self.startWriter(dir.path, seed: 3, extra: ["--count", "40"])
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        func verify() throws -> (Int32, String) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: tallyBinary)
            p.arguments = ["log", "verify", dir.path]
            let out = Pipe()
            p.standardOutput = out
            try p.run()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            return (p.terminationStatus, text)
        }
        let (okStatus, okText) = try verify()
        #expect(okStatus == 0)
        #expect(okText.contains("0 corrupt partition(s)") && !okText.contains("CORRUPT"), "\(okText)")
        let segment = try segmentPaths(dir.path + "/partitions/p00000")[0]
        flipBit(segment, at: 100)
        let (badStatus, badText) = try verify()
        #expect(badStatus == 1)
        #expect(badText.contains("corruption: \(segment) at byte 0"), "\(badText)")
    }
}
