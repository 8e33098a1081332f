public import EventLog

/// The compact binary encoding of ``DomainEvent``s, versioned per event type.
///
/// A record's payload is an envelope — optionally the byte 0xFF then the command's ``Actor`` (kind
/// byte, id varint), then the command's idempotency key (a varint length, 0 for none, then UTF-8
/// bytes) and, when a key is present, the number of events the command produced (varint) — followed
/// by the event's fields in declaration order. 0xFF can never begin an envelope without an actor
/// (keys are at most 200 bytes, so their length's first varint byte is at most 0xC8), so envelopes
/// written before actors were recorded read as ever, with the unknown actor. Integers are zigzag or plain
/// LEB128 varints, Discord snowflakes fixed 8 bytes little-endian, strings and byte strings
/// length-prefixed, and a ``PersonID`` a kind byte (0 Discord, 1 Kick) then the id.
///
/// Type tags never change meaning. A change to a type's fields bumps its version; older versions
/// stay decodable and are upcast to the current shape here (see `pointsAdjusted`, version 2).
public enum EventCodec {
    /// A payload that could not be decoded.
    public struct DecodeError: Error, Sendable, CustomStringConvertible {
        public var type: EventTypeTag
        public var version: UInt8
        public var reason: String
        public var description: String { "event type \(type) v\(version): \(reason)" }
    }

    /// Each type's tag, name and current version.
    public struct TypeInfo: Sendable {
        public var tag: EventTypeTag
        public var name: String
        public var version: UInt8
    }

    public static func info(_ event: DomainEvent) -> TypeInfo {
        let tag = tag(of: event).rawValue
        return TypeInfo(tag: EventTypeTag(tag), name: names[tag]!, version: currentVersion(of: tag))
    }

    /// An event's type tag (``info(_:)`` without the name's lookup).
    public static func tag(of event: DomainEvent) -> EventTypeTag {
        let tag: UInt16 =
            switch event {
            case .settingChanged: 1
            case .settingCleared: 2
            case .streamWentLive: 3
            case .streamWentOffline: 4
            case .trackingOverridden: 5
            case .chatterSeen: 6
            case .watchTimeAccrued: 7
            case .roleThresholdSet: 8
            case .roleThresholdRemoved: 9
            case .roleGrantRequested: 10
            case .roleRevokeRequested: 11
            case .roleDeliveryRecorded: 12
            case .pointsEarned: 13
            case .pointsSpent: 14
            case .pointsRefunded: 15
            case .pointsAdjusted: 16
            case .subscriptionRecorded: 17
            case .shopItemCreated: 18
            case .shopItemEdited: 19
            case .shopItemRestocked: 20
            case .shopItemDeactivated: 21
            case .itemPurchased: 22
            case .orderFulfilled: 23
            case .orderCancelled: 24
            case .purchaseLimitReset: 25
            case .rafflePeriodOpened: 26
            case .rafflePeriodClosed: 27
            case .ticketsGranted: 28
            case .ticketsRemoved: 29
            case .raffleExclusionChanged: 30
            case .raffleWinnerDrawn: 31
            case .raffleSeedRevealed: 32
            case .giftedSubsRecorded: 33
            case .linkRequested: 34
            case .accountLinked: 35
            case .linkRejected: 36
            case .accountUnlinked: 37
            case .platformUsernameChanged: 38
            case .chatterEarningsMerged: 39
            case .kickChannelConnected: 64
            case .chatCommandUsed: 65
            case .deliveryRequested: 66
            case .deliveryRecorded: 67
            case .kickAuthorizationStarted: 68
            case .kickAuthorizationFinished: 69
            case .giftedSubsUnattributed: 70
            case .raffleBeaconRecorded: 40
            case .streamStatusReported: 41
            case .game(let game): gameTag(game)
            case .legacyPersonImported: 80
            case .legacyRecordImported: 81
            case .legacyRoleThresholdImported: 82
            case .legacyOrderImported: 83
            case .legacyPeriodImported: 84
            case .kickNameResolved: 85
            }
        return EventTypeTag(tag)
    }

    /// The version ``encode(_:key:commandEvents:)`` writes for a type tag (snapshots hold fields in it).
    static func currentVersion(of tag: UInt16) -> UInt8 {
        switch tag {
        case 16, 17, 24, 26, 27, 31, 33: 2
        default: 1
        }
    }

    /// The name of a type tag, for listings.
    public static func name(of tag: EventTypeTag) -> String {
        names[tag.rawValue] ?? "type_\(tag.rawValue)"
    }

    /// Every type's name by tag. Tags never change meaning; a new type takes the next number.
    static let names: [UInt16: String] = [
        1: "setting_changed",
        2: "setting_cleared",
        3: "stream_went_live",
        4: "stream_went_offline",
        5: "tracking_overridden",
        6: "chatter_seen",
        7: "watch_time_accrued",
        8: "role_threshold_set",
        9: "role_threshold_removed",
        10: "role_grant_requested",
        11: "role_revoke_requested",
        12: "role_delivery_recorded",
        13: "points_earned",
        14: "points_spent",
        15: "points_refunded",
        16: "points_adjusted",
        17: "subscription_recorded",
        18: "shop_item_created",
        19: "shop_item_edited",
        20: "shop_item_restocked",
        21: "shop_item_deactivated",
        22: "item_purchased",
        23: "order_fulfilled",
        24: "order_cancelled",
        25: "purchase_limit_reset",
        26: "raffle_period_opened",
        27: "raffle_period_closed",
        28: "tickets_granted",
        29: "tickets_removed",
        30: "raffle_exclusion_changed",
        31: "raffle_winner_drawn",
        32: "raffle_seed_revealed",
        33: "gifted_subs_recorded",
        34: "link_requested",
        35: "account_linked",
        36: "link_rejected",
        37: "account_unlinked",
        38: "platform_username_changed",
        39: "chatter_earnings_merged",
        64: "kick_channel_connected",
        65: "chat_command_used",
        66: "delivery_requested",
        67: "delivery_recorded",
        68: "kick_authorization_started",
        69: "kick_authorization_finished",
        70: "gifted_subs_unattributed",
        40: "raffle_beacon_recorded",
        41: "stream_status_reported",
        80: "legacy_person_imported",
        81: "legacy_record_imported",
        82: "legacy_role_threshold_imported",
        83: "legacy_order_imported",
        84: "legacy_period_imported",
        85: "kick_name_resolved",
    ].merging(gameNames) { old, _ in old }

    /// Encodes an event as a log record payload with its envelope.
    public static func encode(
        _ event: DomainEvent, key: String? = nil, commandEvents: Int = 1, origin: Actor = .unknown
    ) -> (EventTypeTag, UInt8, [UInt8]) {
        var w = ByteWriter(capacity: 32)
        if let key, !key.isEmpty, origin != .unknown {
            w.write(actorMarker)
            w.write(origin.kind.rawValue)
            w.writeVarint(origin.id)
        }
        if let key, !key.isEmpty {
            w.writeString(key)
            w.writeVarint(UInt64(commandEvents))
        } else {
            w.writeVarint(0)
        }
        encodeFields(event, into: &w)
        let i = info(event)
        return (i.tag, i.version, w.bytes)
    }

    /// The envelope byte that says an actor follows.
    static let actorMarker: UInt8 = 0xFF

    /// A log record for an event.
    public static func record(
        _ event: DomainEvent, guild: GuildID, sequence: UInt64, timestamp: Timestamp, key: String? = nil,
        commandEvents: Int = 1, origin: Actor = .unknown
    ) -> Record {
        let (tag, version, payload) = encode(event, key: key, commandEvents: commandEvents, origin: origin)
        return Record(
            guild: guild, sequence: sequence, timestamp: timestamp, type: tag, typeVersion: version, payload: payload)
    }

    /// Decodes a record read from the log.
    public static func decode(_ record: RecordView) throws -> StoredEvent {
        let (key, count, origin, event) = try decodeWithOrigin(
            type: record.type, version: record.typeVersion, payload: record.payload)
        return StoredEvent(
            offset: record.offset, guild: record.guild, sequence: record.sequence, timestamp: record.timestamp,
            key: key,
            commandEvents: count, origin: origin, event: event)
    }

    public static func decode(_ record: StoredRecord) throws -> StoredEvent {
        try record.record.payload.withUnsafeBytes { raw in
            let (key, count, origin, event) = try decodeWithOrigin(
                type: record.record.type, version: record.record.typeVersion, payload: raw)
            return StoredEvent(
                offset: record.offset, guild: record.record.guild, sequence: record.record.sequence,
                timestamp: record.record.timestamp, key: key, commandEvents: count, origin: origin, event: event)
        }
    }

    /// Decodes a payload (envelope and fields), upcasting older versions.
    public static func decode(type: EventTypeTag, version: UInt8, payload: UnsafeRawBufferPointer) throws
        -> (key: String?, commandEvents: Int, event: DomainEvent)
    {
        let (key, count, _, event) = try decodeWithOrigin(type: type, version: version, payload: payload)
        return (key, count, event)
    }

    /// Decodes a payload with the actor its envelope records (`.unknown` when none).
    public static func decodeWithOrigin(type: EventTypeTag, version: UInt8, payload: UnsafeRawBufferPointer) throws
        -> (key: String?, commandEvents: Int, origin: Actor, event: DomainEvent)
    {
        var r = ByteReader(payload)
        func fail(_ reason: String) -> DecodeError { DecodeError(type: type, version: version, reason: reason) }
        do {
            var origin = Actor.unknown
            if payload.first == actorMarker {
                _ = try r.read(UInt8.self)
                origin = Actor(kind: Actor.Kind(try r.read(UInt8.self)), id: try r.readVarint())
            }
            let key = try r.readString()
            let rawCount = key.isEmpty ? 0 : try r.readVarint()
            guard rawCount <= UInt64(Int32.max) else { throw fail("command event count \(rawCount) out of range") }
            let count = Int(rawCount)
            let event = try decodeFields(tag: type.rawValue, version: version, &r)
            guard let event else { throw fail("unknown type or version") }
            guard r.isAtEnd else { throw fail("\(r.remaining) bytes left over") }
            guard origin == .unknown || !key.isEmpty else { throw fail("an actor without a key") }
            return (key.isEmpty ? nil : key, count, origin, event)
        } catch is ByteReader.Overrun {
            throw fail("payload ends early or holds a malformed field")
        }
    }
}
