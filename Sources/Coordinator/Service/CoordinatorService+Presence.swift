public import EventLog

/// What a presence stream carries to its shard.
public enum PresenceSignal: Sendable {
    /// Nothing new: written so that a dead connection is noticed (the write fails).
    case tick
    /// The shard's orders or the routes changed: it should heartbeat now.
    case orders
}

extension CoordinatorService {
    /// A shard's presence connection, as the coordinator holds it open (see ``Presence``).
    public struct PresenceConnection: Sendable {
        /// Which connection of the shard this is: only the newest one ends the shard's lease.
        public let number: UInt64
        /// What to write to the shard, until the connection is replaced or this coordinator stands by.
        public let signals: AsyncStream<PresenceSignal>
        /// Where the connection's own ticks are yielded.
        public let continuation: AsyncStream<PresenceSignal>.Continuation
    }

    /// Opens `shard`'s presence connection, replacing (ending) any earlier one of it.
    ///
    /// - Throws: ``CoordinatorError`` `standby` while standing by.
    public func openPresence(of shard: ShardID) throws -> PresenceConnection {
        guard term != nil else {
            throw CoordinatorError(.standby, "this coordinator is standing by; another one is active or taking over")
        }
        presenceCount += 1
        // A few ticks may wait behind a slow write; an `orders` among them is then not needed
        // either (the shard is not reading).
        let (signals, continuation) = AsyncStream.makeStream(
            of: PresenceSignal.self, bufferingPolicy: .bufferingNewest(8))
        presences[shard]?.signals.finish()
        presences[shard] = (presenceCount, continuation)
        return PresenceConnection(number: presenceCount, signals: signals, continuation: continuation)
    }

    /// `shard`'s presence connection `number` ended. When it broke (`lost`: a write failed, so the
    /// process is gone) and it is still the shard's newest, the shard's lease ends now and its
    /// partitions go to the others with new epochs — as a lease expiry would, a lease earlier. A
    /// connection that ended because it was replaced, or because this coordinator is stopping or
    /// standing by, changes nothing.
    ///
    /// Ending a lease early is safe however wrong it may be: a live shard that lost its lease
    /// learns so from its next heartbeat, and the partitions' fencing (the lock of a file store,
    /// the epoch of a PostgreSQL store) keeps it from appending once another owner has acquired.
    ///
    /// - Throws: ``CoordinatorError`` `storage` when the change cannot be saved (the lease then
    ///   expires in its time).
    public func closePresence(of shard: ShardID, number: UInt64, lost: Bool) async throws {
        guard let current = presences[shard], current.number == number else { return }
        presences[shard] = nil
        current.signals.finish()
        guard lost, term != nil, state.table.leases[shard] != nil else { return }
        logger.warning("shard's presence connection broke: its lease ends now", metadata: ["shard": "\(shard)"])
        try await change { $0.table.shardLeft(shard) }
    }

    /// Tells every shard with a presence connection to heartbeat (orders or routes changed).
    func signalPresences() {
        for presence in presences.values { presence.signals.yield(.orders) }
    }

    /// Ends every presence connection without ending any lease (standing by: the shards reconnect
    /// to the coordinator that takes over).
    func endPresences() {
        let all = presences.values
        presences = [:]
        for presence in all { presence.signals.finish() }
    }
}
