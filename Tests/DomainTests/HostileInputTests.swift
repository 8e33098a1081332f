import EventLog
import Testing

@testable import Domain

/// Out-of-range varints in event payloads and snapshots are decode errors, never a trap.
@Suite struct DomainHostileInputTests {
    @Test func commandEventCountBeyondIntIsADecodeError() {
        var w = ByteWriter()
        w.writeVarint(1)
        w.write(UInt8(ascii: "k"))
        w.writeVarint(UInt64.max)
        let error = #expect(throws: EventCodec.DecodeError.self) {
            try w.bytes.withUnsafeBytes { try EventCodec.decode(type: EventTypeTag(3), version: 1, payload: $0) }
        }
        #expect(error?.reason.contains("out of range") == true)
    }

    /// A snapshot of one guild whose varint at `field` is replaced by `UInt64.max`.
    static func snapshot(hugeAt field: String) -> [UInt8] {
        var state = GuildState(guild: GuildID(5), globalDefaults: [:])
        state.apply(
            .streamWentLive, sequence: 1, timestamp: Timestamp(milliseconds: 1000), key: "key-1", commandEvents: 1)
        var w = ByteWriter()
        state.encodeSnapshot(into: &w)
        var bytes = w.bytes
        switch field {
        case "events":
            // The one key's first sequence (1), events (1), timestamp (1000 zigzag = 2 bytes) and first
            // offset (none: 0, 1 byte), then the imports section (version 5: five empty counts, 5 bytes).
            let eventsAt = bytes.count - 4 - 5
            precondition(bytes[eventsAt] == 1)
            var huge = ByteWriter()
            huge.writeVarint(UInt64.max)
            bytes.replaceSubrange(eventsAt..<eventsAt + 1, with: huge.bytes)
        default:
            preconditionFailure("unknown field \(field)")
        }
        return bytes
    }

    @Test func snapshotWithAnOutOfRangeEventCountIsRejected() throws {
        var good = ByteWriter()
        var state = GuildState(guild: GuildID(5), globalDefaults: [:])
        state.apply(
            .streamWentLive, sequence: 1, timestamp: Timestamp(milliseconds: 1000), key: "key-1", commandEvents: 1)
        state.encodeSnapshot(into: &good)
        let decoded = try good.bytes.withUnsafeBytes { raw in
            var r = ByteReader(raw)
            return try GuildState.decodeSnapshot(from: &r, globalDefaults: [:], remembersKeys: true)
        }
        #expect(decoded.keys["key-1"]?.events == 1)
        let bad = DomainHostileInputTests.snapshot(hugeAt: "events")
        #expect(throws: ByteReader.Overrun.self) {
            try bad.withUnsafeBytes { raw in
                var r = ByteReader(raw)
                _ = try GuildState.decodeSnapshot(from: &r, globalDefaults: [:], remembersKeys: true)
            }
        }
    }

    @Test func snapshotWithAnOutOfRangePruneMarkIsRejected() {
        let state = GuildState(guild: GuildID(5), globalDefaults: [:])
        var w = ByteWriter()
        state.encodeSnapshot(into: &w)
        // Guild (8), last sequence (1), last timestamp (1), overrides (1), live (1), tracking (1),
        // last-spoke count (1): the prune mark follows.
        var bytes = w.bytes
        let at = 14
        var huge = ByteWriter()
        huge.writeVarint(UInt64.max)
        bytes.replaceSubrange(at..<at + ByteWriter.varintSize(UInt64(state.pruneLastSpokeAt)), with: huge.bytes)
        #expect(throws: ByteReader.Overrun.self) {
            try bytes.withUnsafeBytes { raw in
                var r = ByteReader(raw)
                _ = try GuildState.decodeSnapshot(from: &r, globalDefaults: [:], remembersKeys: true)
            }
        }
    }
}
