import Domain
import EventLog
import FuzzSupport

/// A record payload: the mode byte and the next one are the type tag (little-endian), the byte after
/// that the type version, the rest the payload. Properties: decoding never traps; a decoded event
/// encodes to a payload that decodes to the same event, key and count.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEventCodec(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    guard count >= 3 else { return 0 }
    let all = UnsafeRawBufferPointer(start: start, count: count)
    let tag = EventTypeTag(UInt16(all[0]) | UInt16(all[1]) << 8)
    let version = all[2]
    let payload = UnsafeRawBufferPointer(rebasing: all[3...])
    guard let decoded = try? EventCodec.decode(type: tag, version: version, payload: payload) else { return 0 }
    let (tag2, version2, bytes) = EventCodec.encode(
        decoded.event, key: decoded.key, commandEvents: decoded.commandEvents)
    let again = bytes.withUnsafeBytes { try? EventCodec.decode(type: tag2, version: version2, payload: $0) }
    precondition(again?.event == decoded.event, "event does not round-trip")
    precondition(again?.key == decoded.key, "key does not round-trip")
    precondition(decoded.key == nil || again?.commandEvents == decoded.commandEvents, "count does not round-trip")
    return 0
}
