/// Which records a read returns: a range of offsets, optionally narrowed to one guild and to records
/// at or after a moment, up to a number of records.
public struct LogQuery: Sendable, Hashable {
    /// The first offset to consider. Default 0.
    public var from: Offset = .zero
    /// The offset to stop before; nil reads to the end visible when the read starts.
    public var to: Offset?
    /// Only this guild's records; batches whose index shows no record of it are skipped unread.
    public var guild: GuildID?
    /// Only records whose timestamp is at or after this; batches entirely older are skipped unread.
    public var since: Timestamp?
    /// Stop after this many matching records. Default unlimited.
    public var limit: Int = .max

    public init(
        from: Offset = .zero, to: Offset? = nil, guild: GuildID? = nil, since: Timestamp? = nil, limit: Int = .max
    ) {
        self.from = from
        self.to = to
        self.guild = guild
        self.since = since
        self.limit = limit
    }
}

/// What a read did, so callers (and tests) can see what the index saved.
public struct ReadStatistics: Sendable, Hashable {
    /// Batches read from disk, verified and decoded.
    public var batchesRead = 0
    /// Batches the index ruled out without reading them.
    public var batchesSkipped = 0
    /// Records returned.
    public var records = 0
    /// Stored bytes read from disk.
    public var bytesRead = 0

    public init() {}
}
