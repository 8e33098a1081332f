import Foundation
import Hummingbird
import Testing

@testable import Shard

/// The hand-written decoder of command bodies (`CommandRequest+JSON.swift`) against the one it
/// replaced: `JSONDecoder` with `CommandRequest`'s former `Decodable` conformance, kept here as the
/// oracle. On well-formed JSON both must read the same commands and refuse the same ones; on bytes
/// that are not JSON the new decoder refuses the whole body wherever `JSONDecoder` did, and where
/// `JSONDecoder` was laxer (trailing commas, bad escapes or UTF-8 in fields it never read) it refuses
/// more. Seeded; the seed and the body are printed on failure.
@Suite struct CommandJSONTests {
    // MARK: The oracle (the decoding this replaced, unchanged)

    struct LegacyCommandRequest: Decodable {
        var value: CommandRequest

        enum CodingKeys: String, CodingKey {
            case type, key, setting, value, live, mode, username, name, minutes, position, enabled, granted, outcome,
                detail
            case person, amount, delta, reason, price, stock, requirement, source, excluded, winners, count
            case period, replaces, round, randomness, at
            case createdAt = "created_at", gifteeKickUserIds = "giftee_kick_user_ids"
            case kickUserId = "kick_user_id", roleId = "role_id", userId = "user_id", expiresAt = "expires_at"
            case itemId = "item_id", perPersonLimit = "per_person_limit", limitWindowSeconds = "limit_window_seconds"
            case requirementPrompt = "requirement_prompt", raffleTickets = "raffle_tickets", orderId = "order_id"
            case startsAt = "starts_at", endsAt = "ends_at", gifterKickUserId = "gifter_kick_user_id"
            case kickUsername = "kick_username"
            case broadcasterUserId = "broadcaster_user_id", slug
            case slot, number, blocked, result, template, text, id
            case cooldownSeconds = "cooldown_seconds", intervalMinutes = "interval_minutes"
        }

        init(from decoder: any Decoder) throws {
            var v = CommandRequest()
            let c = try decoder.container(keyedBy: CodingKeys.self)
            func field<T: Decodable>(_ key: CodingKeys) throws -> T? {
                if try c.decodeNil(forKey: key) {
                    throw DecodingError.valueNotFound(
                        T.self,
                        .init(
                            codingPath: c.codingPath + [key],
                            debugDescription: "\(key.stringValue) is null; leave it out"))
                }
                return try c.decode(T.self, forKey: key)
            }
            var type: String?
            var key: String?
            for k in c.allKeys {
                switch k {
                case .type: type = try c.decode(String.self, forKey: k)
                case .key: key = try c.decode(String.self, forKey: k)
                case .setting: v.setting = try field(k)
                case .value: v.value = try c.decodeIfPresent(Int64.self, forKey: k)
                case .live: v.live = try field(k)
                case .mode: v.mode = try field(k)
                case .kickUserId: v.kickUserId = try field(k)
                case .username: v.username = try field(k)
                case .roleId: v.roleId = try field(k)
                case .userId: v.userId = try field(k)
                case .name: v.name = try field(k)
                case .minutes: v.minutes = try field(k)
                case .position: v.position = try field(k)
                case .enabled: v.enabled = try field(k)
                case .granted: v.granted = try field(k)
                case .outcome: v.outcome = try field(k)
                case .detail: v.detail = try field(k)
                case .person: v.person = try field(k)
                case .amount: v.amount = try field(k)
                case .delta: v.delta = try field(k)
                case .reason: v.reason = try field(k)
                case .expiresAt: v.expiresAt = try field(k)
                case .itemId: v.itemId = try field(k)
                case .price: v.price = try field(k)
                case .stock: v.stock = try field(k)
                case .perPersonLimit: v.perPersonLimit = try field(k)
                case .limitWindowSeconds: v.limitWindowSeconds = try field(k)
                case .requirementPrompt: v.requirementPrompt = try field(k)
                case .raffleTickets: v.raffleTickets = try field(k)
                case .requirement: v.requirement = try field(k)
                case .orderId: v.orderId = try field(k)
                case .startsAt: v.startsAt = try field(k)
                case .endsAt: v.endsAt = try field(k)
                case .source: v.source = try field(k)
                case .excluded: v.excluded = try field(k)
                case .winners: v.winners = try field(k)
                case .gifterKickUserId: v.gifterKickUserId = try field(k)
                case .count: v.count = try field(k)
                case .kickUsername: v.kickUsername = try field(k)
                case .broadcasterUserId: v.broadcasterUserId = try field(k)
                case .slug: v.slug = try field(k)
                case .period: v.period = try field(k)
                case .replaces: v.replaces = try field(k)
                case .round: v.round = try field(k)
                case .randomness: v.randomness = try field(k)
                case .at: v.at = try field(k)
                case .createdAt: v.createdAt = try field(k)
                case .gifteeKickUserIds: v.gifteeKickUserIds = try field(k)
                case .slot: v.slot = try field(k)
                case .number: v.number = try field(k)
                case .blocked: v.blocked = try field(k)
                case .result: v.result = try field(k)
                case .template: v.template = try field(k)
                case .cooldownSeconds: v.cooldownSeconds = try field(k)
                case .text: v.text = try field(k)
                case .intervalMinutes: v.intervalMinutes = try field(k)
                case .id: v.id = try field(k)
                }
            }
            guard let type else {
                throw DecodingError.keyNotFound(
                    CodingKeys.type, .init(codingPath: c.codingPath, debugDescription: "no value for type"))
            }
            guard let key else {
                throw DecodingError.keyNotFound(
                    CodingKeys.key, .init(codingPath: c.codingPath, debugDescription: "no value for key"))
            }
            v.type = type
            v.key = key
            value = v
        }

    }

    struct LegacyBatch: Decodable {
        struct Item: Decodable {
            var parsed: CommandRequest?
            init(from decoder: any Decoder) {
                parsed = try? LegacyCommandRequest(from: decoder).value
            }
        }
        var commands: [Item]
    }

    /// What a body reads as: refused as a whole, or each command read (nil: refused alone).
    enum Reading: Equatable {
        case whole
        case commands([CommandRequest?])
    }

    static func legacyBatch(_ body: [UInt8]) -> Reading {
        guard let batch = try? JSONDecoder().decode(LegacyBatch.self, from: Data(body)) else { return .whole }
        return .commands(batch.commands.map(\.parsed))
    }

    static func batch(_ body: [UInt8]) -> Reading {
        switch CommandRequest.decodeBatch(ByteBuffer(bytes: body)) {
        case .failure(let error):
            #expect(error.code == .malformedJSON)
            return .whole
        case .success(let commands):
            return .commands(
                commands.map { r in
                    if case .failure(let error) = r { #expect(error.code == .malformedJSON) }
                    return try? r.get()
                })
        }
    }

    static func legacySingle(_ body: [UInt8]) -> CommandRequest? {
        try? JSONDecoder().decode(LegacyCommandRequest.self, from: Data(body)).value
    }

    static func single(_ body: [UInt8]) -> CommandRequest? {
        try? CommandRequest.decode(ByteBuffer(bytes: body)).get()
    }

    // MARK: Random bodies

    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let numbers = [
        "0", "-0", "1", "-1", "7", "1.0", "-1.0", "1e2", "1E+2", "2.5e1", "0.5", "-0.5", "1e-400", "-0.0", "10e-1",
        "2147483647", "2147483648", "-2147483648", "-2147483649", "4294967295", "4294967296",
        "9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
        "18446744073709551615", "18446744073709551616", "1e15", "1e16", "9007199254740993", "9.007199254740993e15",
        "1e400", "123456789012345678901234567890", "0.0000000000000000000001e22", "100000000000000000000e-5",
        "1100000000000000001", "5",
    ]

    static let strings = [
        "", "k", "adjust_points", "tick", "set_setting", "spend_points", "points_per_message", "1100000000000000001",
        "kick:42", "discord:1100000000000000002", "line\\nbreak", "quote\\\"d", "back\\\\slash", "sl\\/ash",
        "caf\\u00e9", "\\ud83d\\ude00", "é", "😀", "\\u0000", "tab\\t", "\\b\\f\\r", "automatic",
        "forced_on", "delivered", String(repeating: "x", count: 201),
    ]

    static let keys =
        CommandRequest.Field.names + [
            "unknown", "Type", "typ", "t\\u0079pe", "k\\u0065y", "d\\u0065lta", "", "commands", "\\u00e9",
        ]

    static func value(_ rng: inout SplitMix, depth: Int = 0) -> String {
        switch Int.random(in: 0..<12, using: &rng) {
        case 0...3: return "\"" + strings.randomElement(using: &rng)! + "\""
        case 4...7: return numbers.randomElement(using: &rng)!
        case 8: return ["true", "false"].randomElement(using: &rng)!
        case 9: return "null"
        case 10:
            guard depth < 3 else { return "[]" }
            let n = Int.random(in: 0..<4, using: &rng)
            return "[" + (0..<n).map { _ in value(&rng, depth: depth + 1) }.joined(separator: ",") + "]"
        default:
            guard depth < 3 else { return "{}" }
            let n = Int.random(in: 0..<3, using: &rng)
            return "{" + (0..<n).map { _ in "\"u\(depth)\":" + value(&rng, depth: depth + 1) }.joined(separator: ",")
                + "}"
        }
    }

    static func space(_ rng: inout SplitMix) -> String {
        Int.random(in: 0..<6, using: &rng) == 0 ? [" ", "\n", "\t ", "\r\n"].randomElement(using: &rng)! : ""
    }

    /// A command: mostly an object with a type and a key, fields of the right or the wrong type,
    /// sometimes a key twice or a field null; now and then not an object.
    static func command(_ rng: inout SplitMix) -> String {
        if Int.random(in: 0..<20, using: &rng) == 0 { return value(&rng) }
        var members: [String] = []
        if Int.random(in: 0..<8, using: &rng) != 0 {
            members.append(#""type":"# + "\"" + CommandRequest.types.randomElement(using: &rng)! + "\"")
        }
        if Int.random(in: 0..<8, using: &rng) != 0 { members.append(#""key":"k\#(rng.next() % 100)""#) }
        for _ in 0..<Int.random(in: 0..<6, using: &rng) {
            let key = keys.randomElement(using: &rng)!
            members.append("\"\(key)\"" + space(&rng) + ":" + space(&rng) + value(&rng))
        }
        if !members.isEmpty, Int.random(in: 0..<6, using: &rng) == 0 {
            members.append(members.randomElement(using: &rng)!)
        }
        members.shuffle(using: &rng)
        return "{" + space(&rng) + members.joined(separator: "," + space(&rng)) + space(&rng) + "}"
    }

    static func body(_ rng: inout SplitMix) -> String {
        let n = Int.random(in: 0..<5, using: &rng)
        var members = ["\"commands\":[" + (0..<n).map { _ in command(&rng) }.joined(separator: ",") + "]"]
        if Int.random(in: 0..<5, using: &rng) == 0 { members.append(#""extra":"# + value(&rng)) }
        members.shuffle(using: &rng)
        return space(&rng) + "{" + members.joined(separator: ",") + "}" + space(&rng)
    }

    /// Whether `text` holds a number with a fraction or an exponent of 2^53 or more that is not whole:
    /// there `JSONDecoder` drops the fraction, this decoder refuses it (`JSONReader.integer`).
    static func holdsLargeFraction(_ text: String) -> Bool {
        let pattern = #/-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?/#
        for match in text.matches(of: pattern) where match.output.1 != nil || match.output.2 != nil {
            if let d = Double(match.output.0), d.magnitude >= 9_007_199_254_740_992 { return true }
        }
        return false
    }

    static let seed = UInt64(ProcessInfo.processInfo.environment["TALLY_FUZZ_SEED"] ?? "") ?? 15

    @Test func wellFormedBodiesReadAsJSONDecoderReadThem() {
        var rng = SplitMix(state: Self.seed)
        var compared = 0
        var refusedAlone = 0
        for _ in 0..<4_000 {
            let text = Self.body(&rng)
            guard !Self.holdsLargeFraction(text) else { continue }
            let body = Array(text.utf8)
            let legacy = Self.legacyBatch(body)
            let reading = Self.batch(body)
            #expect(reading == legacy, "seed \(Self.seed): \(text)")
            if case .commands(let c) = reading { refusedAlone += c.filter { $0 == nil }.count }
            compared += 1
        }
        #expect(compared > 3_000)
        #expect(refusedAlone > 1_000, "the bodies exercise commands refused alone")
    }

    @Test func singleCommandsReadAsJSONDecoderReadThem() {
        var rng = SplitMix(state: Self.seed &+ 1)
        var accepted = 0
        for _ in 0..<4_000 {
            let text = Self.space(&rng) + Self.command(&rng) + Self.space(&rng)
            guard !Self.holdsLargeFraction(text) else { continue }
            let body = Array(text.utf8)
            let mine = Self.single(body)
            #expect(mine == Self.legacySingle(body), "seed \(Self.seed): \(text)")
            if mine != nil { accepted += 1 }
        }
        #expect(accepted > 500, "the bodies exercise accepted commands")
    }

    /// Bodies with a few bytes changed: what `JSONDecoder` refused as a whole is refused as a whole;
    /// what this decoder takes, it takes as `JSONDecoder` did.
    @Test func damagedBodiesAreNeverTakenWhereJSONDecoderRefusedThem() {
        var rng = SplitMix(state: Self.seed &+ 2)
        let alphabet = Array(#"{}[],:"\ 019-.eE+nultrfu"#.utf8) + [0x00, 0x0A, 0xC3, 0xFF]
        var stricter = 0
        var agreed = 0
        for _ in 0..<4_000 {
            var body = Array(Self.body(&rng).utf8)
            for _ in 0..<Int.random(in: 1...3, using: &rng) where !body.isEmpty {
                let at = Int.random(in: 0..<body.count, using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: body.remove(at: at)
                case 1: body.insert(alphabet.randomElement(using: &rng)!, at: at)
                default: body[at] = alphabet.randomElement(using: &rng)!
                }
            }
            guard !Self.holdsLargeFraction(String(decoding: body, as: UTF8.self)) else { continue }
            let legacy = Self.legacyBatch(body)
            let reading = Self.batch(body)
            let text = String(decoding: body, as: UTF8.self)
            if legacy == .whole {
                #expect(reading == .whole, "seed \(Self.seed): \(text)")
            } else if reading == .whole {
                stricter += 1
            } else {
                #expect(reading == legacy, "seed \(Self.seed): \(text)")
                agreed += 1
            }
        }
        #expect(agreed > 100 && stricter > 0)
    }

    // MARK: Cases by hand

    static func elements(_ text: String) -> [CommandRequest?]? {
        guard case .commands(let c) = batch(Array(text.utf8)) else { return nil }
        return c
    }

    @Test func theFirstOfTwoEqualKeysWins() throws {
        let c = try #require(Self.single(Array(#"{"type":"tick","key":"a","key":"b","delta":1,"delta":"x"}"#.utf8)))
        #expect(c.key == "a" && c.delta == 1)
        #expect(Self.single(Array(#"{"type":"tick","key":"a","delta":"x","delta":1}"#.utf8)) == nil)
    }

    @Test func nullIsRefusedButForValue() throws {
        #expect(Self.single(Array(#"{"type":"tick","key":"a","reason":null}"#.utf8)) == nil)
        #expect(Self.single(Array(#"{"type":null,"key":"a"}"#.utf8)) == nil)
        let c = try #require(Self.single(Array(#"{"type":"set_setting","key":"a","value":null}"#.utf8)))
        #expect(c.value == nil)
    }

    @Test(arguments: [
        (#"{"type":"tick","key":"a","position":2147483647}"#, true),
        (#"{"type":"tick","key":"a","position":2147483648}"#, false),
        (#"{"type":"tick","key":"a","delta":-9223372036854775808}"#, true),
        (#"{"type":"tick","key":"a","delta":-9223372036854775809}"#, false),
        (#"{"type":"tick","key":"a","order_id":18446744073709551615}"#, true),
        (#"{"type":"tick","key":"a","order_id":-1}"#, false),
        (#"{"type":"tick","key":"a","order_id":-0}"#, true),
        (#"{"type":"tick","key":"a","delta":1.0}"#, true),
        (#"{"type":"tick","key":"a","delta":1.5}"#, false),
        (#"{"type":"tick","key":"a","delta":1e2}"#, true),
        (#"{"type":"tick","key":"a","delta":1e400}"#, false),
        (#"{"type":"tick","key":"a","live":1}"#, false),
        (#"{"type":"tick","key":"a","reason":"caf\u00e9 \ud83d\ude00"}"#, true),
    ])
    func numbersAndTypesAtTheirLimits(body: String, takes: Bool) {
        let bytes = Array(body.utf8)
        #expect((Self.single(bytes) != nil) == takes)
        #expect(Self.single(bytes) == Self.legacySingle(bytes))
    }

    /// Where `JSONDecoder` was lax, this decoder refuses the body as a whole: it is not JSON.
    @Test(arguments: [
        #"{"commands":[{"type":"tick","key":"a"},]}"#,
        #"{"commands":[{"type":"tick","key":"a","zz":"\q"}]}"#,
        #"{"commands":[{"type":"tick","key":"a","zz":"\ud800"}]}"#,
        #"{"commands":[{"type":"tick","key":"a","reason":"\udc00"}]}"#,
        #"{"commands":[{"type":"tick","key":"a","delta":01}]}"#,
        #"{"commands":[{"type":"tick","key":"a","zz":1.}]}"#,
        "{\"commands\":[{\"type\":\"tick\",\"key\":\"a\tb\"}]}",
        #"{"commands":[{"type":"tick","key":"a"}]} x"#,
        #"{"commands":[{"type":"tick" "key":"a"}]}"#,
        #"{"commands":null}"#,
        #"{"commands":{}}"#,
        #"{"command":[]}"#,
        #"[]"#,
    ])
    func notJSONIsRefusedAsAWhole(body: String) {
        #expect(Self.batch(Array(body.utf8)) == .whole)
    }

    @Test func invalidUTF8IsRefusedAsAWhole() {
        for bytes: [UInt8] in [[0xFF], [0xC3], [0xED, 0xA0, 0x80], [0xC0, 0x80]] {
            let body = Array(#"{"commands":[{"type":"tick","key":"a","zz":""#.utf8) + bytes + Array(#""}]}"#.utf8)
            #expect(Self.batch(body) == .whole)
        }
    }

    @Test func nestingStopsAt512() {
        func body(_ n: Int) -> String {
            #"{"commands":[{"type":"tick","key":"a","zz":"# + String(repeating: "[", count: n)
                + String(repeating: "]", count: n) + "}]}"
        }
        #expect(Self.batch(Array(body(509).utf8)) != .whole)
        #expect(Self.batch(Array(body(510).utf8)) == .whole)
        #expect(Self.legacyBatch(Array(body(509).utf8)) != .whole)
        #expect(Self.legacyBatch(Array(body(510).utf8)) == .whole)
    }

    @Test func aBadElementIsRefusedAloneWithItsReason() throws {
        let body = #"{"commands":[{"type":"tick","key":"a"},5,{"type":"tick"},{"type":"tick","key":"b","delta":"x"}]}"#
        let results = try CommandRequest.decodeBatch(ByteBuffer(string: body)).get()
        #expect(results.count == 4)
        let messages = results.map { r -> String? in
            if case .failure(let e) = r { return e.message } else { return nil }
        }
        #expect(messages[0] == nil)
        #expect(messages[1] == "the element is not a valid command: a command is a JSON object")
        #expect(messages[2] == "the element is not a valid command: missing field key")
        #expect(messages[3] == "the element is not a valid command: wrong type at delta")
    }
}
