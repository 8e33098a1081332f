import Domain
import EventLog
import Foundation
import FuzzSupport
import Shard

/// Up to 16 command bodies, one JSON document a line, parsed as `POST /commands` parses them
/// (`CommandRequest.decode`, the hand-written reader) and
/// decided in order against one guild's state, each accepted command's events applied.
/// Properties: no body traps the parser or the rules; every event the rules produce encodes and
/// decodes back to itself.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCommandJSON(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let all = UnsafeRawBufferPointer(start: start, count: count)
    let guild = GuildID(1_234_567)
    var state = GuildState(guild: guild, globalDefaults: [:])
    let secret = [UInt8](repeating: 7, count: 32)
    var now = Timestamp(milliseconds: 1_764_000_000_000)
    for line in all.split(separator: 0x0A, omittingEmptySubsequences: true).prefix(16) {
        now = Timestamp(milliseconds: now.rawValue + 61_000)
        guard let request = try? CommandRequest.decode(bytes: UnsafeRawBufferPointer(rebasing: line)).get() else {
            continue
        }
        let seeds = RaffleSeeds(secret: secret, guild: guild, period: state.raffle.lastPeriod)
        guard let command = try? request.command(now: now, seeds: seeds) else { continue }
        let key = request.key.isEmpty ? "fuzz" : request.key
        guard case .accepted(let events) = state.decide(command, context: CommandContext(key: key, time: now)) else {
            continue
        }
        for (i, event) in events.enumerated() {
            let (tag, version, payload) = EventCodec.encode(event, key: i == 0 ? key : nil, commandEvents: events.count)
            let decoded = payload.withUnsafeBytes { try? EventCodec.decode(type: tag, version: version, payload: $0) }
            precondition(decoded?.event == event, "an event the rules produced does not round-trip: \(event)")
            state.apply(
                event, sequence: state.lastSequence + 1, timestamp: now, key: i == 0 ? key : nil,
                commandEvents: events.count)
        }
    }
    return 0
}
