import TallyTesting
import Testing

@testable import EventLog

@Suite struct FormatTests {
    @Test func crc32cMatchesTheStandardCheckValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
    }

    @Test func hardwareAndTableChecksumsAgree() {
        var rng = SplitMix64(seed: 3)
        for length in [0, 1, 7, 8, 9, 63, 64, 65, 1000, 4097] {
            let bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            var table = CRC32C()
            bytes.withUnsafeBytes { table.updateWithTables($0) }
            #expect(CRC32C.checksum(bytes) == table.checksum, "length \(length)")
        }
    }

    @Test func varintsRoundTripAtEveryWidth() throws {
        var writer = ByteWriter()
        let values: [UInt64] = [0, 1, 127, 128, 16_383, 16_384, UInt64(UInt32.max), UInt64.max]
        let signed: [Int64] = [0, -1, 1, -64, 64, Int64.min, Int64.max]
        for v in values { writer.writeVarint(v) }
        for v in signed { writer.writeSignedVarint(v) }
        try writer.bytes.withUnsafeBytes { (raw) throws in
            var reader = ByteReader(raw)
            for v in values { #expect(try reader.readVarint() == v) }
            for v in signed { #expect(try reader.readSignedVarint() == v) }
            #expect(reader.isAtEnd)
        }
        for v in values {
            var w = ByteWriter()
            w.writeVarint(v)
            #expect(w.count == ByteWriter.varintSize(v))
        }
    }

    @Test func batchEncodesAndDecodesRecordsExactly() throws {
        let records = (0..<200).map { i in
            makeRecord(
                guild: UInt64(i % 9 + 1), sequence: UInt64(i), size: i % 3 == 0 ? 0 : 20 + i,
                time: 1_700_000_000_000 + Int64((i * 7919) % 500) - 250)
        }
        for compress in [true, false] {
            var encoder = BatchEncoder()
            let summary = encoder.encode(records, baseOffset: Offset(1000), epoch: Epoch(3), compress: compress)
            #expect(summary.header.recordCount == 200)
            #expect(summary.header.guildCount == 9)
            #expect(summary.header.codec == (compress ? .lz4 : .none))
            var decoder = BatchDecoder()
            var decoded: [StoredRecord] = []
            let header = try encoder.batch.withUnsafeBytes { raw in
                try decoder.decode(raw) { decoded.append(StoredRecord($0)) }
            }
            #expect(header == summary.header)
            #expect(decoded.map(\.record) == records)
            #expect(decoded.map(\.offset.rawValue) == Array(1000..<1200))
        }
    }

    @Test func guildFilterNeverMissesAGuildItHolds() {
        var rng = SplitMix64(seed: 7)
        for count in [1, 5, 32, 33, 500, 3000] {
            let guilds = Set((0..<count).map { _ in GuildID(rng.next()) })
            let filter = GuildFilter(guilds: guilds)
            for guild in guilds { #expect(filter.mayContain(guild), "count \(count)") }
            let absent = (0..<2000).map { _ in GuildID(rng.next()) }.filter { !guilds.contains($0) }
            let falsePositives = absent.filter(filter.mayContain).count
            if count <= GuildFilter.exactLimit {
                #expect(falsePositives == 0)
            } else {
                #expect(Double(falsePositives) / Double(absent.count) < 0.03, "count \(count): \(falsePositives)")
            }
        }
    }

    @Test func indexEntriesRoundTripAndRejectDamage() {
        let entry = IndexEntry(
            baseOffset: Offset(77), position: 4096, length: 300, recordCount: 12,
            minTimestamp: Timestamp(milliseconds: 5), maxTimestamp: Timestamp(milliseconds: 9), epoch: Epoch(4),
            filter: .exact([GuildID(1), GuildID(9)]))
        var out = ByteWriter()
        entry.encode(into: &out)
        out.bytes.withUnsafeBytes { raw in
            var reader = ByteReader(raw)
            #expect(IndexEntry.decode(&reader) == entry)
        }
        for i in 0..<out.count {
            var damaged = out.bytes
            damaged[i] ^= 0x10
            damaged.withUnsafeBytes { raw in
                var reader = ByteReader(raw)
                #expect(IndexEntry.decode(&reader) != entry, "flip at byte \(i) went unnoticed")
            }
        }
    }

    @Test func timestampsPrintAndParseAsUTC() {
        let t = Timestamp(milliseconds: 1_796_083_200_123)
        #expect(t.description == "2026-12-01T00:00:00.123Z")
        #expect(Timestamp(parsing: "2026-12-01T00:00:00.123Z") == t)
        #expect(Timestamp(parsing: "2026-12-01") == Timestamp(milliseconds: 1_796_083_200_000))
        #expect(Timestamp(parsing: "1796083200123") == t)
        #expect(Timestamp(parsing: "yesterday") == nil)
    }

    @Test func partitionOfAGuildIsStableAndSpread() throws {
        let dir = TemporaryDirectory()
        let data = try DataDirectory.open(path: dir.path, creatingWith: 16)
        #expect(
            data.partition(for: GuildID(1_234_567_890_123_456_789))
                == PartitionID(UInt32(StableHash.mix64(1_234_567_890_123_456_789) % 16)))
        var counts = [Int](repeating: 0, count: 16)
        for g in 0..<16_000 { counts[Int(data.partition(for: GuildID(UInt64(g) << 22 | 5)).rawValue)] += 1 }
        #expect(counts.min()! > 800 && counts.max()! < 1200)
        #expect(throws: EventLogError.self) { try DataDirectory.open(path: dir.path, creatingWith: 8) }
        #expect(try DataDirectory.open(path: dir.path).partitionCount == 16)
    }
}
