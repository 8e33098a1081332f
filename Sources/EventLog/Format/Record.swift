/// One event as the log stores it: which guild it belongs to, its place in that guild's history, when
/// it happened, what type it is, and its encoded payload.
///
/// The log never looks inside `payload`; the domain encodes and decodes it.
public struct Record: Hashable, Sendable {
    public var guild: GuildID
    /// The record's position in its guild's history (1, 2, 3 …), assigned by the domain.
    public var sequence: UInt64
    public var timestamp: Timestamp
    public var type: EventTypeTag
    public var typeVersion: UInt8
    public var payload: [UInt8]

    public init(
        guild: GuildID, sequence: UInt64, timestamp: Timestamp, type: EventTypeTag, typeVersion: UInt8 = 1,
        payload: [UInt8]
    ) {
        self.guild = guild
        self.sequence = sequence
        self.timestamp = timestamp
        self.type = type
        self.typeVersion = typeVersion
        self.payload = payload
    }

    public init(_ view: RecordView) {
        self.init(
            guild: view.guild, sequence: view.sequence, timestamp: view.timestamp, type: view.type,
            typeVersion: view.typeVersion, payload: Array(view.payload))
    }
}

/// A record decoded in place inside a batch's body: the payload points into the batch buffer and is
/// valid only inside the closure that received the view.
public struct RecordView {
    public let offset: Offset
    public let guild: GuildID
    public let sequence: UInt64
    public let timestamp: Timestamp
    public let type: EventTypeTag
    public let typeVersion: UInt8
    public let payload: UnsafeRawBufferPointer
}

/// A record together with its offset in the partition.
public struct StoredRecord: Hashable, Sendable {
    public var offset: Offset
    public var record: Record

    public init(offset: Offset, record: Record) {
        self.offset = offset
        self.record = record
    }

    public init(_ view: RecordView) {
        self.offset = view.offset
        self.record = Record(view)
    }
}
