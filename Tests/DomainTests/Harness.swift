import EventLog
@testable import Domain

/// Drives one guild's rules the way a shard does: decide, encode, "append", decode, apply.
struct Harness {
    var state: GuildState
    /// Every event as stored, after a round trip through the codec.
    var log: [StoredEvent] = []
    var clock: Int64
    private var nextKey = 0

    init(guild: UInt64 = 900_000_000_000_000_001, start: Int64 = 1_796_083_200_000) {
        state = GuildState(guild: GuildID(guild))
        clock = start
    }

    mutating func advance(seconds: Int64) { clock += seconds * 1000 }

    var now: Timestamp { Timestamp(milliseconds: clock) }

    @discardableResult
    mutating func run(_ command: Command, key: String? = nil, actor: UserID = UserID(42)) -> Decision {
        nextKey += 1
        let context = CommandContext(key: key ?? "k\(nextKey)", time: now, actor: actor)
        let decision = state.decide(command, context: context)
        if case .accepted(let events) = decision, !events.isEmpty {
            for (i, event) in events.enumerated() {
                let record = EventCodec.record(
                    event, guild: state.guild, sequence: state.lastSequence + 1, timestamp: now,
                    key: i == 0 ? context.key : nil, commandEvents: events.count)
                let stored = try! EventCodec.decode(StoredRecord(offset: Offset(UInt64(log.count)), record: record))
                precondition(stored.event == event, "codec round trip changed \(event)")
                state.apply(stored)
                log.append(stored)
            }
        }
        return decision
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
        if case .rejected(let r) = decision { return r.code }
        return nil
    }

    /// A fresh state rebuilt from the stored events alone.
    func rebuilt() -> GuildState {
        var fresh = GuildState(guild: state.guild)
        for e in log { fresh.apply(e) }
        return fresh
    }

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
}
