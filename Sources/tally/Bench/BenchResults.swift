import Foundation

/// Everything `tally bench log` measured, printable as a table or one JSON object.
struct BenchResults: Encodable {
    var machine = ""
    var events = 0
    var batches = 0
    var eventsPerBatch = 0.0
    var appendEventsPerSecond = 0.0
    var appendMBPerSecond = 0.0
    var smallAppendEventsPerSecond = 0.0
    var smallAppendEventsPerBatch = 0.0
    var readEventsPerSecond = 0.0
    var readMBPerSecond = 0.0
    var guildReadEvents = 0
    var guildReadEventsPerSecond = 0.0
    var guildReadScannedEventsPerSecond = 0.0
    var guildReadBatchesRead = 0
    var guildReadBatchesSkipped = 0
    var storedBytesPerEvent = 0.0
    var indexBytesPerEvent = 0.0
    var payloadBytesPerEvent = 0.0
    var jsonLZ4BytesPerEvent = 0.0
    var lz4CompressEventsPerSecond = 0.0
    var lz4DecompressEventsPerSecond = 0.0
    var sqliteEvents = 0
    var sqliteAppendEventsPerSecond = 0.0
    var sqliteUpsertEventsPerSecond = 0.0
    var checksum: UInt64 = 0

    enum CodingKeys: String, CodingKey {
        case machine, events, batches
        case eventsPerBatch = "events_per_batch"
        case appendEventsPerSecond = "append_events_per_s"
        case appendMBPerSecond = "append_mb_per_s"
        case smallAppendEventsPerSecond = "small_append_events_per_s"
        case smallAppendEventsPerBatch = "small_append_events_per_batch"
        case readEventsPerSecond = "read_events_per_s"
        case readMBPerSecond = "read_mb_per_s"
        case guildReadEvents = "guild_read_events"
        case guildReadEventsPerSecond = "guild_read_events_per_s"
        case guildReadScannedEventsPerSecond = "guild_read_scanned_events_per_s"
        case guildReadBatchesRead = "guild_read_batches_read"
        case guildReadBatchesSkipped = "guild_read_batches_skipped"
        case storedBytesPerEvent = "stored_bytes_per_event"
        case indexBytesPerEvent = "index_bytes_per_event"
        case payloadBytesPerEvent = "payload_bytes_per_event"
        case jsonLZ4BytesPerEvent = "json_lz4_bytes_per_event"
        case lz4CompressEventsPerSecond = "lz4_compress_events_per_s"
        case lz4DecompressEventsPerSecond = "lz4_decompress_events_per_s"
        case sqliteEvents = "sqlite_events"
        case sqliteAppendEventsPerSecond = "sqlite_append_events_per_s"
        case sqliteUpsertEventsPerSecond = "sqlite_upsert_events_per_s"
        case appendVsLZ4Compress = "append_vs_lz4_compress"
        case readVsLZ4Decompress = "read_vs_lz4_decompress"
        case appendVsSQLiteRows = "append_vs_sqlite_rows"
        case appendVsSQLiteUpserts = "append_vs_sqlite_upserts"
        case storedVsJSONLZ4 = "stored_vs_json_lz4"
    }

    var appendVsLZ4Compress: Double { appendEventsPerSecond / lz4CompressEventsPerSecond }
    var readVsLZ4Decompress: Double { readEventsPerSecond / lz4DecompressEventsPerSecond }
    var appendVsSQLiteRows: Double { appendEventsPerSecond / sqliteAppendEventsPerSecond }
    var appendVsSQLiteUpserts: Double { appendEventsPerSecond / sqliteUpsertEventsPerSecond }
    var storedVsJSONLZ4: Double { storedBytesPerEvent / jsonLZ4BytesPerEvent }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(machine, forKey: .machine)
        try c.encode(events, forKey: .events)
        try c.encode(batches, forKey: .batches)
        try c.encode(round(eventsPerBatch), forKey: .eventsPerBatch)
        for (key, value) in [
            (CodingKeys.appendEventsPerSecond, appendEventsPerSecond),
            (.smallAppendEventsPerSecond, smallAppendEventsPerSecond),
            (.readEventsPerSecond, readEventsPerSecond), (.guildReadEventsPerSecond, guildReadEventsPerSecond),
            (.guildReadScannedEventsPerSecond, guildReadScannedEventsPerSecond),
            (.lz4CompressEventsPerSecond, lz4CompressEventsPerSecond),
            (.lz4DecompressEventsPerSecond, lz4DecompressEventsPerSecond),
            (.sqliteAppendEventsPerSecond, sqliteAppendEventsPerSecond),
            (.sqliteUpsertEventsPerSecond, sqliteUpsertEventsPerSecond),
        ] {
            try c.encode(value.rounded(), forKey: key)
        }
        for (key, value) in [
            (CodingKeys.appendMBPerSecond, appendMBPerSecond), (.readMBPerSecond, readMBPerSecond),
            (.smallAppendEventsPerBatch, smallAppendEventsPerBatch),
            (.storedBytesPerEvent, storedBytesPerEvent), (.indexBytesPerEvent, indexBytesPerEvent),
            (.payloadBytesPerEvent, payloadBytesPerEvent), (.jsonLZ4BytesPerEvent, jsonLZ4BytesPerEvent),
            (.appendVsLZ4Compress, appendVsLZ4Compress), (.readVsLZ4Decompress, readVsLZ4Decompress),
            (.appendVsSQLiteRows, appendVsSQLiteRows), (.appendVsSQLiteUpserts, appendVsSQLiteUpserts),
            (.storedVsJSONLZ4, storedVsJSONLZ4),
        ] {
            try c.encode((value * 1000).rounded() / 1000, forKey: key)
        }
        try c.encode(guildReadEvents, forKey: .guildReadEvents)
        try c.encode(guildReadBatchesRead, forKey: .guildReadBatchesRead)
        try c.encode(guildReadBatchesSkipped, forKey: .guildReadBatchesSkipped)
        try c.encode(sqliteEvents, forKey: .sqliteEvents)
    }

    var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    func table(appenders: Int, recordsPerAppend: Int, smallAppenders: Int) -> String {
        func rate(_ v: Double) -> String { String(format: "%12.0f", v) }
        func ratio(_ v: Double) -> String { String(format: "%.2f×", v) }
        return """
            tally bench log — \(machine)
            \(events) events, \(batches) batches (\(Int(eventsPerBatch.rounded())) events/batch)

            measure                                   events/s      MB/s   vs bound/peer
            durable append (\(appenders)×\(recordsPerAppend)/append)      \(rate(appendEventsPerSecond))  \(String(format: "%8.1f", appendMBPerSecond))   \(ratio(appendVsLZ4Compress)) of LZ4 compress
            small appends (\(smallAppenders)×1/append)           \(rate(smallAppendEventsPerSecond))            \(String(format: "%.0f", smallAppendEventsPerBatch)) events/batch
            sequential read + decode              \(rate(readEventsPerSecond))  \(String(format: "%8.1f", readMBPerSecond))   \(ratio(readVsLZ4Decompress)) of LZ4 decompress
            guild read (\(guildReadEvents) events)            \(rate(guildReadEventsPerSecond))            \(guildReadBatchesRead) read, \(guildReadBatchesSkipped) skipped
            raw LZ4_compress_default              \(rate(lz4CompressEventsPerSecond))
            raw LZ4_decompress_safe               \(rate(lz4DecompressEventsPerSecond))
            SQLite row per event                  \(rate(sqliteAppendEventsPerSecond))            append is \(ratio(appendVsSQLiteRows))
            SQLite upsert of totals per event     \(rate(sqliteUpsertEventsPerSecond))            append is \(ratio(appendVsSQLiteUpserts))

            bytes per event: stored \(String(format: "%.1f", storedBytesPerEvent)) (index \(String(format: "%.2f", indexBytesPerEvent)) more), JSON+LZ4 \(String(format: "%.1f", jsonLZ4BytesPerEvent)) → \(ratio(storedVsJSONLZ4)); payload alone \(String(format: "%.1f", payloadBytesPerEvent))
            """
    }
}
