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

    /// Issue 10 changed these types; their version 1 golden files still decode, upcast to the new shape.
    static let version1Upcasts: [(file: String, tag: UInt16, event: DomainEvent)] = {
        let alice = PersonID.discord(UserID(1_095_300_612_093_640_704))
        return [
            (
                "raffle_period_opened.v1.hex", 26,
                .rafflePeriodOpened(
                    RafflePeriod(
                        id: PeriodID(2), startsAt: Timestamp(milliseconds: 1_796_083_200_000),
                        endsAt: Timestamp(milliseconds: 1_798_761_600_000),
                        seedCommitment: Array(repeating: 0xAB, count: 32), beaconRound: 0))
            ),
            ("raffle_period_closed.v1.hex", 27, .rafflePeriodClosed(PeriodID(2), table: nil, beaconRound: 0)),
            (
                "raffle_winner_drawn.v1.hex", 31,
                .raffleWinnerDrawn(
                    RaffleDraw(
                        period: PeriodID(2), number: 1, seed: Array(0..<32).map { UInt8($0 * 7 % 256) },
                        totalTickets: 1200, winningTicket: 731, winner: alice, winnerTickets: 40, participants: 57,
                        participantsDigest: Array(repeating: 0xCD, count: 32)))
            ),
            (
                "order_cancelled.v1.hex", 24,
                .orderCancelled(
                    OrderID(17), refund: 250, by: UserID(1_000_000_000_000_000_099), reason: "out of stock",
                    refundTo: nil)
            ),
            (
                "gifted_subs_recorded.v1.hex", 33,
                .giftedSubsRecorded(gifter: KickUserID(4_242_001), count: 5, giftees: [], createdAt: nil)
            ),
            (
                "subscription_recorded.v1.hex", 17,
                .subscriptionRecorded(
                    KickUserID(4_242_001), expiresAt: Timestamp(milliseconds: 1_798_761_600_000), createdAt: nil)
            ),
        ]
    }()

    @Test(arguments: version1Upcasts)
    func version1EventsChangedByIssue10AreUpcast(file: String, tag: UInt16, event: DomainEvent) throws {
        let v1 = Self.unhex(try String(contentsOf: Self.goldenDirectory.appendingPathComponent(file), encoding: .utf8))
        let decoded = try v1.withUnsafeBytes { try EventCodec.decode(type: EventTypeTag(tag), version: 1, payload: $0) }
        #expect(decoded.event == event)
        #expect(EventCodec.encode(decoded.event).1 == 2, "re-encoding writes the current version")
    }

    @Test func aVersion1CloseLeavesThePeriodUndrawableAndAVersion1OpenCommitsAtTheClose() {
        var state = GuildState(guild: GuildID(1))
        let period = RafflePeriod(
            id: PeriodID(1), startsAt: Timestamp(milliseconds: 1_796_083_200_000),
            endsAt: Timestamp(milliseconds: 1_798_761_600_000), seedCommitment: RaffleDrawing.commitment(for: [1]))
        state.apply(.rafflePeriodOpened(period), sequence: 1, timestamp: period.startsAt, key: "o")
        state.apply(
            .ticketsGranted(.discord(UserID(9)), amount: 5, source: .admin, reason: "r"), sequence: 2,
            timestamp: period.startsAt, key: "g")
        // A period opened by a version 1 event (no round) that closes now commits to the first round after its close.
        let now = Timestamp(milliseconds: 1_798_761_700_000)
        guard
            case .accepted(let events) = state.decide(
                .closeRafflePeriod(seed: [1]), context: CommandContext(key: "c", time: now)),
            case .rafflePeriodClosed(_, let table?, let round) = events.first
        else { Issue.record("the close was refused"); return }
        #expect(table.entries.count == 1)
        #expect(round == DrandChain.mainnet.round(after: now))
        // A period closed by a version 1 event has no table: its draw is refused, clearly.
        state.apply(.rafflePeriodClosed(PeriodID(1), table: nil, beaconRound: 0), sequence: 3, timestamp: now, key: "c")
        guard
            case .rejected(let why) = state.decide(
                .drawRaffle(seed: nil, winners: 1), context: CommandContext(key: "d", time: now))
        else { Issue.record("a version 1 period was drawn"); return }
        #expect(why.code == .periodNotFrozen)
    }

    /// Issue 10: a command's first event records who issued it; envelopes without an actor (every
    /// golden file above) still read, with the unknown actor.
    @Test(arguments: [Actor.operator, .timer, .kick, .discord(UserID(1_095_300_612_093_640_704)), .guildKey(42)])
    func theEnvelopeRecordsTheActor(origin: Actor) throws {
        let event = DomainEvent.pointsAdjusted(
            .discord(UserID(7)), delta: 5, reason: "bonus", by: UserID(1_000_000_000_000_000_099))
        let (tag, version, payload) = EventCodec.encode(event, key: "k", commandEvents: 2, origin: origin)
        let decoded = try payload.withUnsafeBytes {
            try EventCodec.decodeWithOrigin(type: tag, version: version, payload: $0)
        }
        #expect(decoded.origin == origin && decoded.key == "k" && decoded.commandEvents == 2 && decoded.event == event)
        // Without a key there is no envelope to carry an actor.
        let (_, _, bare) = EventCodec.encode(event, origin: origin)
        #expect(bare == EventCodec.encode(event).2)
    }

    @Test func anEnvelopeWithAnActorHasAGoldenFile() throws {
        let event = DomainEvent.ticketsGranted(.kick(KickUserID(4_242_001)), amount: 3, source: .admin, reason: "raid")
        let (tag, version, payload) = EventCodec.encode(event, key: "golden-key", commandEvents: 1, origin: .operator)
        let file = Self.goldenDirectory.appendingPathComponent("envelope_with_actor.hex")
        if !FileManager.default.fileExists(atPath: file.path),
            ProcessInfo.processInfo.environment["TALLY_WRITE_GOLDEN"] == "1"
        {
            try (Self.hex(payload) + "\n").write(to: file, atomically: true, encoding: .utf8)
        }
        let golden = Self.unhex(try String(contentsOf: file, encoding: .utf8))
        #expect(golden == payload)
        #expect(golden.first == 0xFF)
        let decoded = try golden.withUnsafeBytes {
            try EventCodec.decodeWithOrigin(type: tag, version: version, payload: $0)
        }
        #expect(decoded.origin == .operator && decoded.event == event)
        // An actor with no key is malformed.
        let keyless = [UInt8(0xFF), 1, 0] + EventCodec.encode(event).2
        #expect(throws: EventCodec.DecodeError.self) {
            try keyless.withUnsafeBytes { try EventCodec.decodeWithOrigin(type: tag, version: version, payload: $0) }
        }
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
