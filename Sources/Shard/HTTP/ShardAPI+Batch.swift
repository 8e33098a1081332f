import Domain
import EventLog
import Foundation
import Hummingbird

extension ShardAPI {
    /// The most commands one batch takes.
    public static let maxBatchCommands = 1_000
    /// The largest batch body accepted (4 MiB: 1,000 commands of up to ~4 KiB each).
    public static let maxBatchBody = 4 << 20

    /// `POST /v1/guilds/{guild}/commands/batch`: up to ``maxBatchCommands`` commands for one guild,
    /// each with its own idempotency key, decided in order and made durable together (one append,
    /// one fsync). Each gets its own result, in order: what `POST /commands` would have answered, as
    /// `{"status": 200, "duplicate": …, "events": […]}` or `{"status": 4xx, "error": {…}}`. A command
    /// that is malformed or refused changes nothing and harms none of the others.
    func commandBatch(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let guild = try guildID(context)
        try authorizer.requireAccess(request, to: guild)
        var request = request
        let body: ByteBuffer
        do { body = try await request.collectBody(upTo: Self.maxBatchBody) } catch {
            throw APIError(.bodyTooLarge, "batch bodies are limited to \(Self.maxBatchBody) bytes")
        }
        // Each element becomes its command (or its own error) as it is read.
        let time = now()
        var results: [Result<PartitionOwner.Outcome, APIError>?] = []
        var valid: [(Command, CommandContext)] = []
        var positions: [Int] = []
        results.reserveCapacity(Self.maxBatchCommands)
        valid.reserveCapacity(Self.maxBatchCommands)
        positions.reserveCapacity(Self.maxBatchCommands)
        let failure = body.withUnsafeReadableBytes { bytes in
            CommandRequest.decodeBatch(bytes: bytes) { item in
                do {
                    let parsed = try item.get()
                    guard !parsed.key.isEmpty, parsed.key.utf8.count <= 200 else {
                        throw APIError(.invalidKey, "key must be 1 to 200 bytes")
                    }
                    // The raffle seeds depend on the period before the command: such commands go alone.
                    guard !parsed.needsRaffleSeeds else {
                        throw APIError(.notBatchable, "\(parsed.type) cannot be batched: send it to /commands")
                    }
                    valid.append(
                        (
                            try parsed.command(now: time, seeds: .none),
                            CommandContext(key: parsed.key, time: time, origin: .operator)
                        ))
                    positions.append(results.count)
                    results.append(nil)
                } catch {
                    results.append(.failure(error as? APIError ?? APIError(.malformedJSON, "\(error)")))
                }
            }
        }
        if let failure { throw failure }
        guard (1...Self.maxBatchCommands).contains(results.count) else {
            throw APIError(
                .batchTooLarge, "a batch holds 1 to \(Self.maxBatchCommands) commands, not \(results.count)")
        }
        let started = ContinuousClock.now
        if !valid.isEmpty {
            let outcomes: [Result<PartitionOwner.Outcome, Rejection>]
            do { outcomes = try await nodes.node(for: guild).handleBatch(valid, guild: guild) } catch let error
                as ShardError
            {
                metrics.unavailable.increment(by: valid.count)
                throw APIError(error)
            }
            for (position, outcome) in zip(positions, outcomes) {
                results[position] = outcome.mapError { APIError($0) }
            }
        }
        var accepted = 0
        var duplicates = 0
        var rejected = 0
        var events = 0
        var out = ByteBuffer()
        out.reserveCapacity(results.count * 160 + 16)
        out.writeStaticString(#"{"results":["#)
        for (i, result) in results.enumerated() {
            if i > 0 { out.writeStaticString(",") }
            switch result! {
            case .success(let outcome):
                if outcome.duplicate { duplicates += 1 } else { accepted += 1 }
                if !outcome.duplicate { events += outcome.events.count }
                Self.write(outcome, to: &out)
            case .failure(let error):
                rejected += 1
                out.writeStaticString(#"{"status":"#)
                Self.writeDecimal(error.status.code, to: &out)
                out.writeStaticString(#","error":{"code":"#)
                Self.writeJSONString(error.code.name, to: &out)
                out.writeStaticString(#","message":"#)
                Self.writeJSONString(error.message, to: &out)
                out.writeStaticString("}}")
            }
        }
        out.writeStaticString("]}")
        metrics.accepted.increment(by: accepted)
        metrics.duplicate.increment(by: duplicates)
        metrics.rejected.increment(by: rejected)
        metrics.eventsAppended.increment(by: events)
        metrics.batchDuration.record(duration: started.duration(to: .now))
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: out))
    }

    /// One command's result as `POST /commands` answers it, with `"status": 200`, written without
    /// building strings (a batch writes a thousand).
    static func write(_ outcome: PartitionOwner.Outcome, to out: inout ByteBuffer) {
        if outcome.duplicate {
            out.writeStaticString(#"{"status":200,"duplicate":true,"events":["#)
        } else {
            out.writeStaticString(#"{"status":200,"duplicate":false,"events":["#)
        }
        for (j, e) in outcome.events.enumerated() {
            out.writeStaticString(j > 0 ? #",{"offset":"# : #"{"offset":"#)
            writeDecimal(e.offset.rawValue, to: &out)
            out.writeStaticString(#","sequence":"#)
            writeDecimal(e.sequence, to: &out)
            out.writeStaticString(#","type":"#)
            let tag = Int(EventCodec.tag(of: e.event).rawValue)
            if tag < eventTypeJSON.count {
                out.writeBytes(eventTypeJSON[tag])
            } else {
                writeJSONString(EventCodec.name(of: EventTypeTag(rawValue: UInt16(tag))), to: &out)
            }
            out.writeStaticString(#","timestamp":"#)
            writeDecimal(e.timestamp.rawValue, to: &out)
            out.writeStaticString("}")
        }
        out.writeStaticString("]}")
    }

    /// Each event type's name as a JSON string, by tag (tags are small and dense).
    static let eventTypeJSON: [[UInt8]] = (0..<256).map { tag in
        var buffer = ByteBuffer()
        writeJSONString(EventCodec.name(of: EventTypeTag(rawValue: UInt16(tag))), to: &buffer)
        return Array(buffer.readableBytesView)
    }

    /// An integer in decimal.
    @inline(__always) static func writeDecimal<T: BinaryInteger>(_ value: T, to out: inout ByteBuffer) {
        if value < 0 { out.writeStaticString("-") }
        var m = UInt64(value.magnitude)
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var i = 20
            repeat {
                i -= 1
                digits[i] = UInt8(ascii: "0") + UInt8(m % 10)
                m /= 10
            } while m > 0
            out.writeBytes(UnsafeRawBufferPointer(UnsafeMutableBufferPointer(rebasing: digits[i...])))
        }
    }

    /// `text` as a JSON string literal (quotes, backslashes and control characters escaped).
    static func writeJSONString(_ text: String, to out: inout ByteBuffer) {
        out.writeStaticString("\"")
        for byte in text.utf8 {
            switch byte {
            case 0x22: out.writeStaticString("\\\"")
            case 0x5C: out.writeStaticString("\\\\")
            case 0x0A: out.writeStaticString("\\n")
            case 0x0D: out.writeStaticString("\\r")
            case 0x09: out.writeStaticString("\\t")
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.writeBytes([0x5C, 0x75, 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            default: out.writeInteger(byte)
            }
        }
        out.writeStaticString("\"")
    }
}
