package import EventLog
package import Logging
import NIOCore
import PostgresNIO

/// The row-per-event baselines `tally bench log --store` measures Tally's append against, through
/// the store's own pool so that both run from the same process against the same server.
extension PostgresLogStore {
    /// Runs one statement (bench setup).
    package func execute(_ sql: String) async throws {
        try await database("cannot run a bench statement") {
            try await client.query(PostgresQuery(unsafeSQL: sql), logger: logger)
        }
    }

    /// The first column of the first row of `sql`, as text.
    package func queryText(_ sql: String) async throws -> String {
        try await database("cannot run a bench query") {
            var value = ""
            for try await text in try await client.query(PostgresQuery(unsafeSQL: sql), logger: logger).decode(
                String.self)
            {
                value = text
            }
            return value
        }
    }

    /// COPY of one `tally_bench_events` row per record, in one transaction (how row-per-event
    /// journals store events).
    package func copyRows(_ records: [Record], logger: Logger) async throws {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(records.reduce(0) { $0 + 64 + 2 * $1.payload.count })
        let digits = Array("0123456789abcdef".utf8)
        for record in records {
            buffer.writeString(
                "\(Int64(bitPattern: record.guild.rawValue))\t\(Int64(bitPattern: record.sequence))\t\(record.timestamp.rawValue)\t\(record.type.rawValue)\t\(record.typeVersion)\t\\\\x"
            )
            for byte in record.payload {
                buffer.writeInteger(digits[Int(byte >> 4)])
                buffer.writeInteger(digits[Int(byte & 0x0F)])
            }
            buffer.writeInteger(UInt8(ascii: "\n"))
        }
        let data = buffer
        try await database("cannot COPY bench rows") {
            try await client.withConnection { connection in
                try await connection.copyFrom(
                    table: "tally_bench_events", columns: ["guild", "sequence", "time", "type", "version", "payload"],
                    format: .text(.init()), logger: logger
                ) { writer in try await writer.write(data) }
            }
        }
    }

    /// One INSERT of one record in its own transaction (how the old bot writes).
    package func insertRow(_ record: Record, logger: Logger) async throws {
        try await database("cannot INSERT a bench row") {
            try await client.query(
                """
                INSERT INTO tally_bench_events (guild, sequence, time, type, version, payload)
                VALUES (\(Int64(bitPattern: record.guild.rawValue)), \(Int64(bitPattern: record.sequence)),
                    \(record.timestamp.rawValue), \(Int16(bitPattern: record.type.rawValue)),
                    \(Int16(record.typeVersion)), \(ByteBuffer(bytes: record.payload)))
                """, logger: logger)
        }
    }
}
