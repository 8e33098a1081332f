import EventLog
import Foundation
import GRDB

/// Opens a SQLite database at the durability the log gives: WAL, `synchronous=FULL`.
private func openPeer(_ path: String) throws -> DatabaseQueue {
    var configuration = Configuration()
    configuration.prepareDatabase { db in
        try db.execute(sql: "PRAGMA journal_mode = WAL")
        try db.execute(sql: "PRAGMA synchronous = FULL")
    }
    return try DatabaseQueue(path: path, configuration: configuration)
}

/// The events written into SQLite one row each, one transaction per batch; returns events/s.
func sqliteRows(path: String, records: ArraySlice<EventLog.Record>, perTransaction: Int) throws -> Double {
    let queue = try openPeer(path)
    try queue.write { db in
        try db.execute(
            sql: """
                CREATE TABLE events (
                    offset INTEGER PRIMARY KEY, guild INTEGER NOT NULL, seq INTEGER NOT NULL, ts INTEGER NOT NULL,
                    type INTEGER NOT NULL, version INTEGER NOT NULL, payload BLOB NOT NULL)
                """)
    }
    let start = ContinuousClock.now
    try queue.writeWithoutTransaction { db in
        let insert = try db.makeStatement(sql: "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?)")
        var offset = 0
        for chunk in stride(from: records.startIndex, to: records.endIndex, by: perTransaction) {
            try db.inTransaction {
                for r in records[chunk..<min(chunk + perTransaction, records.endIndex)] {
                    try insert.execute(arguments: [
                        offset, Int64(bitPattern: r.guild.rawValue), Int64(r.sequence), r.timestamp.rawValue,
                        Int(r.type.rawValue), Int(r.typeVersion), Data(r.payload),
                    ])
                    offset += 1
                }
                return .commit
            }
        }
    }
    return Double(records.count) / (ContinuousClock.now - start).seconds
}

/// The old bot's way: each event upserts the person's running totals; returns events/s.
func sqliteUpserts(path: String, events: ArraySlice<BenchWorkload.Event>, perTransaction: Int) throws -> Double {
    let queue = try openPeer(path)
    try queue.write { db in
        try db.execute(
            sql: """
                CREATE TABLE user_totals (
                    guild INTEGER NOT NULL, user INTEGER NOT NULL, minutes INTEGER NOT NULL DEFAULT 0,
                    points INTEGER NOT NULL DEFAULT 0, tickets INTEGER NOT NULL DEFAULT 0, messages INTEGER NOT NULL DEFAULT 0,
                    kick_username TEXT, PRIMARY KEY (guild, user))
                """)
    }
    let start = ContinuousClock.now
    try queue.writeWithoutTransaction { db in
        let upsert = try db.makeStatement(
            sql: """
                INSERT INTO user_totals (guild, user, minutes, points, tickets, messages, kick_username)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (guild, user) DO UPDATE SET
                    minutes = minutes + excluded.minutes, points = points + excluded.points,
                    tickets = tickets + excluded.tickets, messages = messages + excluded.messages,
                    kick_username = COALESCE(excluded.kick_username, kick_username)
                """)
        for chunk in stride(from: events.startIndex, to: events.endIndex, by: perTransaction) {
            try db.inTransaction {
                for e in events[chunk..<min(chunk + perTransaction, events.endIndex)] {
                    var minutes: Int64 = 0, points: Int64 = 0, tickets: Int64 = 0, messages = 0
                    var username: String? = nil
                    switch e.kind {
                    case .watchTick: minutes = e.minutes
                    case .pointsEarned: points = e.amount
                    case .pointsSpent: points = -e.amount
                    case .ticketsGranted: tickets = e.amount
                    case .chatActivity: messages = 1; username = e.kickUsername
                    case .accountLinked: username = e.kickUsername
                    }
                    try upsert.execute(arguments: [
                        Int64(bitPattern: e.guild.rawValue), Int64(bitPattern: e.user), minutes, points, tickets,
                        messages,
                        username,
                    ])
                }
                return .commit
            }
        }
    }
    return Double(events.count) / (ContinuousClock.now - start).seconds
}
