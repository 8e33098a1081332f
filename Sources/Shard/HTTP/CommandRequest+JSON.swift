import Hummingbird

/// Reading `CommandRequest`s from JSON bytes: the body of `POST /commands` and the elements of a
/// batch. One decoder for both, over the body's bytes in place (`JSONReader`).
///
/// As `JSONDecoder` read them before: the keys present are visited, unknown keys ignored, the first
/// of two equal keys wins, `null` is refused for every field but `value` (where it clears a
/// setting), numbers must be whole and fit their field (`1.0` and `1e2` are whole), and `type` and
/// `key` are required.
extension CommandRequest {
    /// The body's fields, in `docs/openapi.yaml`'s snake case.
    enum Field: Int, CaseIterable {
        case type, key, setting, value, live, mode, kickUserId, username
        case roleId, userId, name, minutes, position, enabled, granted, outcome
        case detail, person, amount, delta, reason, expiresAt, itemId, price
        case stock, perPersonLimit, limitWindowSeconds, requirementPrompt, raffleTickets, requirement, orderId, startsAt
        case endsAt, source, excluded, winners, gifterKickUserId, count, kickUsername, broadcasterUserId
        case slug, period, replaces, round, randomness, at, createdAt, gifteeKickUserIds
        case slot, number, blocked, result, template, cooldownSeconds, text, intervalMinutes
        case id

        static let names: [String] = [
            "type", "key", "setting", "value", "live", "mode",
            "kick_user_id", "username", "role_id", "user_id", "name", "minutes",
            "position", "enabled", "granted", "outcome", "detail", "person",
            "amount", "delta", "reason", "expires_at", "item_id", "price",
            "stock", "per_person_limit", "limit_window_seconds", "requirement_prompt", "raffle_tickets", "requirement",
            "order_id", "starts_at", "ends_at", "source", "excluded", "winners",
            "gifter_kick_user_id", "count", "kick_username", "broadcaster_user_id", "slug", "period",
            "replaces", "round", "randomness", "at", "created_at", "giftee_kick_user_ids",
            "slot", "number", "blocked", "result", "template", "cooldown_seconds",
            "text", "interval_minutes", "id",
        ]

        var name: String { Self.names[rawValue] }

        /// The fields by the length of their names, each with its name's bytes.
        static let byLength: [[([UInt8], Field)]] = {
            var table = [[([UInt8], Field)]](repeating: [], count: (names.map(\.utf8.count).max() ?? 0) + 1)
            for field in allCases { table[field.name.utf8.count].append((Array(field.name.utf8), field)) }
            return table
        }()

        /// The field a key names, if any.
        @inline(__always) static func named(_ key: JSONReader.KeyBytes) -> Field? {
            key.withBytes { bytes in
                guard bytes.count < byLength.count else { return nil }
                for (name, field) in byLength[bytes.count] where name.elementsEqual(bytes) { return field }
                return nil
            }
        }
    }

    /// An empty request, for the decoder to fill.
    init() {
        type = ""
        key = ""
    }

    /// Reads one command (a JSON object) at the reader. Bytes that are not JSON throw; a field of
    /// the wrong type or out of range, a missing `type` or `key`, or an element that is not an
    /// object is the command's failure (the first one met), with the rest of it still read.
    static func read(_ r: inout JSONReader) throws(JSONReader.Syntax) -> Result<CommandRequest, JSONReader.Value> {
        guard r.peek() == UInt8(ascii: "{") else {
            try r.skipValue()
            return .failure(JSONReader.Value(message: "a command is a JSON object"))
        }
        r.index += 1
        var request = CommandRequest()
        var seen: UInt64 = 0
        var failure: JSONReader.Value?
        try r.readMembers { (r: inout JSONReader, key: JSONReader.KeyBytes) throws(JSONReader.Syntax) in
            guard let f = Field.named(key), seen & (1 << f.rawValue) == 0 else { return try r.skipValue() }
            seen |= 1 << f.rawValue
            try request.read(f, &r, &failure)
        }
        if let failure { return .failure(failure) }
        for required in [Field.type, .key] where seen & (1 << required.rawValue) == 0 {
            return .failure(JSONReader.Value(message: "missing field \(required.name)"))
        }
        return .success(request)
    }

    /// Reads field `f`'s value into this request.
    private mutating func read(
        _ f: Field, _ r: inout JSONReader, _ failure: inout JSONReader.Value?
    ) throws(JSONReader.Syntax) {
        switch f {
        case .type: type = try r.string(f, &failure) ?? type
        case .key: key = try r.string(f, &failure) ?? key
        case .setting: setting = try r.string(f, &failure)
        case .value: if try !r.readNull() { value = try r.integer(f, Int64.self, &failure) }
        case .live: live = try r.bool(f, &failure)
        case .mode: mode = try r.string(f, &failure)
        case .kickUserId: kickUserId = try r.integer(f, UInt64.self, &failure)
        case .username: username = try r.string(f, &failure)
        case .roleId: roleId = try r.string(f, &failure)
        case .userId: userId = try r.string(f, &failure)
        case .name: name = try r.string(f, &failure)
        case .minutes: minutes = try r.integer(f, Int64.self, &failure)
        case .position: position = try r.integer(f, Int32.self, &failure)
        case .enabled: enabled = try r.bool(f, &failure)
        case .granted: granted = try r.bool(f, &failure)
        case .outcome: outcome = try r.string(f, &failure)
        case .detail: detail = try r.string(f, &failure)
        case .person: person = try r.string(f, &failure)
        case .amount: amount = try r.integer(f, Int64.self, &failure)
        case .delta: delta = try r.integer(f, Int64.self, &failure)
        case .reason: reason = try r.string(f, &failure)
        case .expiresAt: expiresAt = try r.integer(f, Int64.self, &failure)
        case .itemId: itemId = try r.integer(f, UInt32.self, &failure)
        case .price: price = try r.integer(f, Int64.self, &failure)
        case .stock: stock = try r.integer(f, Int64.self, &failure)
        case .perPersonLimit: perPersonLimit = try r.integer(f, Int64.self, &failure)
        case .limitWindowSeconds: limitWindowSeconds = try r.integer(f, Int64.self, &failure)
        case .requirementPrompt: requirementPrompt = try r.string(f, &failure)
        case .raffleTickets: raffleTickets = try r.integer(f, Int64.self, &failure)
        case .requirement: requirement = try r.string(f, &failure)
        case .orderId: orderId = try r.integer(f, UInt64.self, &failure)
        case .startsAt: startsAt = try r.integer(f, Int64.self, &failure)
        case .endsAt: endsAt = try r.integer(f, Int64.self, &failure)
        case .source: source = try r.string(f, &failure)
        case .excluded: excluded = try r.bool(f, &failure)
        case .winners: winners = try r.integer(f, Int.self, &failure)
        case .gifterKickUserId: gifterKickUserId = try r.integer(f, UInt64.self, &failure)
        case .count: count = try r.integer(f, Int64.self, &failure)
        case .kickUsername: kickUsername = try r.string(f, &failure)
        case .broadcasterUserId: broadcasterUserId = try r.integer(f, UInt64.self, &failure)
        case .slug: slug = try r.string(f, &failure)
        case .period: period = try r.integer(f, UInt32.self, &failure)
        case .replaces: replaces = try r.integer(f, UInt32.self, &failure)
        case .round: round = try r.integer(f, UInt64.self, &failure)
        case .randomness: randomness = try r.string(f, &failure)
        case .at: at = try r.integer(f, Int64.self, &failure)
        case .createdAt: createdAt = try r.integer(f, Int64.self, &failure)
        case .gifteeKickUserIds: gifteeKickUserIds = try r.integers(f, UInt64.self, &failure)
        case .slot: slot = try r.string(f, &failure)
        case .number: number = try r.integer(f, UInt32.self, &failure)
        case .blocked: blocked = try r.bool(f, &failure)
        case .result: result = try r.string(f, &failure)
        case .template: template = try r.string(f, &failure)
        case .cooldownSeconds: cooldownSeconds = try r.integer(f, Int64.self, &failure)
        case .text: text = try r.string(f, &failure)
        case .intervalMinutes: intervalMinutes = try r.integer(f, Int64.self, &failure)
        case .id: id = try r.integer(f, UInt32.self, &failure)
        }
    }

    /// The body of `POST /commands`: one command, and nothing after it.
    static func decode(_ body: ByteBuffer) -> Result<CommandRequest, APIError> {
        body.withUnsafeReadableBytes { decode(bytes: $0) }
    }

    /// ``decode(_:)`` over raw bytes.
    package static func decode(bytes raw: UnsafeRawBufferPointer) -> Result<CommandRequest, APIError> {
        do {
            var r = JSONReader(raw.assumingMemoryBound(to: UInt8.self))
            let command = try read(&r)
            try r.expectEnd()
            return command.mapError { APIError(.malformedJSON, "the body is not a valid command: \($0.message)") }
        } catch {
            return .failure(APIError(.malformedJSON, "the body is not a valid command: \(error.description)"))
        }
    }

    /// The body of `POST /commands/batch`: `{"commands": [command, …]}`, each element read on its own
    /// (its failure answered alone, as `malformed_json`). Bytes that are not JSON, or a body without
    /// its array, fail as a whole.
    static func decodeBatch(_ body: ByteBuffer) -> Result<[Result<CommandRequest, APIError>], APIError> {
        var commands: [Result<CommandRequest, APIError>] = []
        let failure = body.withUnsafeReadableBytes { decodeBatch(bytes: $0) { commands.append($0) } }
        return failure.map { .failure($0) } ?? .success(commands)
    }

    /// ``decodeBatch(_:)`` over raw bytes, handing each element to `each` as it is read (no array of
    /// requests: the batch endpoint turns each into its command at once). Returns the failure of
    /// the whole body, if any; `each` may have seen elements before it.
    package static func decodeBatch(
        bytes raw: UnsafeRawBufferPointer, _ each: (Result<CommandRequest, APIError>) -> Void
    ) -> APIError? {
        func whole(_ detail: String) -> APIError {
            APIError(.malformedJSON, "the body is not {\"commands\": [...]}: \(detail)")
        }
        var r = JSONReader(raw.assumingMemoryBound(to: UInt8.self))
        var found = false
        var wrongType = false
        do {
            guard r.peek() == UInt8(ascii: "{") else {
                try r.skipValue()
                try r.expectEnd()
                return whole("it is not a JSON object")
            }
            r.index += 1
            try r.readMembers { (r: inout JSONReader, key: JSONReader.KeyBytes) throws(JSONReader.Syntax) in
                // The first "commands" counts, as with `JSONDecoder`; any other member is checked and skipped.
                guard !found, !wrongType, key.withBytes({ $0.elementsEqual("commands".utf8) }) else {
                    return try r.skipValue()
                }
                guard r.peek() == UInt8(ascii: "[") else {
                    wrongType = true
                    return try r.skipValue()
                }
                r.index += 1
                found = true
                try r.readElements { (r: inout JSONReader) throws(JSONReader.Syntax) in
                    switch try read(&r) {
                    case .success(let command): each(.success(command))
                    case .failure(let failure):
                        each(
                            .failure(APIError(.malformedJSON, "the element is not a valid command: \(failure.message)"))
                        )
                    }
                }
            }
            try r.expectEnd()
        } catch {
            return whole(error.description)
        }
        if wrongType { return whole("commands is not an array") }
        return found ? nil : whole("missing field commands")
    }
}

extension JSONReader.Syntax: CustomStringConvertible {
    var description: String { "\(message) at byte \(offset)" }
}

extension JSONReader {
    /// Records the first failure of a command.
    private static func fail(_ failure: inout Value?, _ message: @autoclosure () -> String) {
        if failure == nil { failure = Value(message: message()) }
    }

    /// Skips a value that is not of field `f`'s type (`null` included) and records it.
    private mutating func mismatch(_ f: CommandRequest.Field, _ failure: inout Value?) throws(Syntax) {
        try skipValue()
        Self.fail(&failure, "wrong type at \(f.name)")
    }

    /// A string field.
    mutating func string(_ f: CommandRequest.Field, _ failure: inout Value?) throws(Syntax) -> String? {
        if peek() == UInt8(ascii: "\"") { return try readString() }
        try mismatch(f, &failure)
        return nil
    }

    /// A boolean field.
    mutating func bool(_ f: CommandRequest.Field, _ failure: inout Value?) throws(Syntax) -> Bool? {
        switch peek() {
        case UInt8(ascii: "t"):
            try literal("true")
            return true
        case UInt8(ascii: "f"):
            try literal("false")
            return false
        default:
            try mismatch(f, &failure)
            return nil
        }
    }

    /// An integer field.
    mutating func integer<T: FixedWidthInteger>(
        _ f: CommandRequest.Field, _ type: T.Type, _ failure: inout Value?
    ) throws(Syntax) -> T? {
        switch peek() {
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let number = try readNumber()
            if let value = integer(number, as: T.self) { return value }
            Self.fail(&failure, "\(f.name) must be a whole number from \(T.min) to \(T.max)")
            return nil
        default:
            try mismatch(f, &failure)
            return nil
        }
    }

    /// An array of integers.
    mutating func integers<T: FixedWidthInteger>(
        _ f: CommandRequest.Field, _ type: T.Type, _ failure: inout Value?
    ) throws(Syntax) -> [T]? {
        guard peek() == UInt8(ascii: "[") else {
            try mismatch(f, &failure)
            return nil
        }
        index += 1
        var values: [T]? = []
        try readElements { (r: inout JSONReader) throws(Syntax) in
            let value = try r.integer(f, T.self, &failure)
            if let value { values?.append(value) } else { values = nil }
        }
        return values
    }
}
