import EventLog
import Foundation
import Simulation
import Testing

@testable import Domain

@Suite struct CodecTests {
    static let goldenDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "Golden")

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
    static func unhex(_ text: String) -> [UInt8] {
        let clean = text.filter { !$0.isWhitespace }
        var out: [UInt8] = []
        var i = clean.startIndex
        while i < clean.endIndex {
            let j = clean.index(i, offsetBy: 2)
            out.append(UInt8(clean[i..<j], radix: 16)!)
            i = j
        }
        return out
    }

    /// Set TALLY_WRITE_GOLDEN=1 to write files for new event types; existing files are never rewritten.
    @Test(arguments: DomainEvent.samples)
    func currentEncodingMatchesItsGoldenFileAndDecodesForever(event: DomainEvent) throws {
        let info = EventCodec.info(event)
        let (tag, version, payload) = EventCodec.encode(event, key: "golden-key", commandEvents: 3)
        #expect(tag == info.tag && version == info.version)
        let file = Self.goldenDirectory.appendingPathComponent("\(info.name).v\(version).hex")
        if !FileManager.default.fileExists(atPath: file.path),
            ProcessInfo.processInfo.environment["TALLY_WRITE_GOLDEN"] == "1"
        {
            try (Self.hex(payload) + "\n").write(to: file, atomically: true, encoding: .utf8)
        }
        let golden = Self.unhex(try String(contentsOf: file, encoding: .utf8))
        #expect(golden == payload, "\(info.name) v\(version) no longer encodes as its golden file")
        let decoded = try golden.withUnsafeBytes { try EventCodec.decode(type: tag, version: version, payload: $0) }
        #expect(decoded.event == event)
        #expect(decoded.key == "golden-key" && decoded.commandEvents == 3)
    }

    @Test func everyEventTypeHasAGoldenFile() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.goldenDirectory.path)
        for event in DomainEvent.samples {
            let info = EventCodec.info(event)
            #expect(files.contains("\(info.name).v\(info.version).hex"), "no golden file for \(info.name)")
        }
        #expect(Set(DomainEvent.samples.map { EventCodec.info($0).tag }).count == DomainEvent.samples.count)
    }

    @Test func version1PointsAdjustmentIsUpcastToVersion2() throws {
        let file = Self.goldenDirectory.appendingPathComponent("points_adjusted.v1.hex")
        let v1 = Self.unhex(try String(contentsOf: file, encoding: .utf8))
        let decoded = try v1.withUnsafeBytes { try EventCodec.decode(type: EventTypeTag(16), version: 1, payload: $0) }
        #expect(
            decoded.event
                == .pointsAdjusted(.kick(KickUserID(4_242_001)), delta: -40, reason: "chargeback", by: .unknown))
        // Re-encoding writes the current version.
        let (_, version, _) = EventCodec.encode(decoded.event)
        #expect(version == 2)
    }

    @Test func malformedPayloadsAreErrorsNotCrashes() {
        var rng = SystemRandomNumberGenerator()
        for event in DomainEvent.samples {
            let (tag, version, payload) = EventCodec.encode(event, key: "k")
            for cut in 0..<payload.count {
                #expect(throws: EventCodec.DecodeError.self) {
                    try Array(payload[..<cut]).withUnsafeBytes {
                        try EventCodec.decode(type: tag, version: version, payload: $0)
                    }
                }
            }
            #expect(throws: EventCodec.DecodeError.self) {
                try (payload + [0]).withUnsafeBytes { try EventCodec.decode(type: tag, version: version, payload: $0) }
            }
            #expect(throws: EventCodec.DecodeError.self) {
                try payload.withUnsafeBytes { try EventCodec.decode(type: tag, version: 99, payload: $0) }
            }
            // Random garbage never crashes the decoder.
            for _ in 0..<20 {
                let junk = (0..<Int.random(in: 0..<40, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                _ = try? junk.withUnsafeBytes { try EventCodec.decode(type: tag, version: version, payload: $0) }
            }
        }
    }
}
