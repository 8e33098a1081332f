import EventLog
import Partition

@testable import Domain

/// Drives one guild's rules the way a shard does, through the shard's own ``CommandProcessor``:
/// decide, encode, "append", decode, apply.
struct Harness {
    let guild: GuildID
    private var processor = CommandProcessor()
    /// Every event as stored, after a round trip through the codec.
    var log: [StoredEvent] = []
    var clock: Int64
    private var nextKey = 0

    init(guild: UInt64 = 900_000_000_000_000_001, start: Int64 = 1_796_083_200_000) {
        self.guild = GuildID(guild)
        clock = start
    }

    /// The guild's state after every command so far.
    var state: GuildState { processor.model.state(of: guild) ?? processor.model.emptyState(of: guild) }

    mutating func advance(seconds: Int64) { clock += seconds * 1000 }

    var now: Timestamp { Timestamp(milliseconds: clock) }

    @discardableResult
    mutating func run(_ command: Command, key: String? = nil, actor: UserID = UserID(42)) -> Decision {
        nextKey += 1
        let context = CommandContext(key: key ?? "k\(nextKey)", time: now, actor: actor)
        let outcome = processor.process(command, guild: guild, context: context)
        for (record, event) in zip(outcome.records, outcome.events) {
            let stored = try! EventCodec.decode(StoredRecord(offset: event.offset, record: record))
            precondition(stored.event == event.event, "codec round trip changed \(event.event)")
            log.append(stored)
        }
        return outcome.decision
    }

    /// A harness whose state is replayed from this one's stored events alone (as a shard restores a
    /// partition), at the same time.
    func replayed() -> Harness {
        var fresh = Harness(guild: guild.rawValue, start: clock)
        for e in log { fresh.processor.restore(e) }
        fresh.log = log
        return fresh
    }

    /// Runs a command that must be accepted and returns its events.
    @discardableResult
    mutating func accept(_ command: Command, key: String? = nil, actor: UserID = UserID(42)) -> [DomainEvent] {
        let decision = run(command, key: key, actor: actor)
        guard case .accepted(let events) = decision else {
            preconditionFailure("\(command) was not accepted: \(decision)")
        }
        return events
    }

    func rejection(_ decision: Decision) -> String? {
        if case .rejected(let r) = decision { return r.code.name }
        return nil
    }

    /// A fresh state rebuilt from the stored events alone.
    func rebuilt() -> GuildState { replayed().state }

    /// A chatter says something.
    mutating func chat(_ id: UInt64, _ name: String? = nil) {
        accept(.recordChatActivity(KickUserID(id), username: name ?? "chatter\(id)"))
    }

    /// One minute passes with these chatters speaking, then the timer ticks.
    mutating func minute(chatters: [UInt64]) {
        for c in chatters { chat(c) }
        advance(seconds: 60)
        run(.tick, key: "tick:\(clock)")
    }

    static let seed: [UInt8] = Array(repeating: 7, count: 32)
    static var commitment: [UInt8] { RaffleDrawing.commitment(for: seed) }
    /// A stand-in for a drand round's value.
    static let beacon: [UInt8] = Array(repeating: 0x5A, count: 32)

    /// Closes the open period with the harness seed, waits for its drand round and records `beacon`.
    mutating func closeAndRecordBeacon(_ beacon: [UInt8] = Harness.beacon) {
        guard let open = state.raffle.current else { preconditionFailure("no open period") }
        accept(.closeRafflePeriod(seed: Harness.seed))
        let round = state.raffle.periods[open.id]!.beaconRound
        clock = max(clock, DrandChain.mainnet.time(of: round)!.rawValue)
        accept(.recordBeacon(period: open.id, round: round, value: beacon))
    }
}
