import Logging
import Synchronization
import Testing

@testable import Coordinator

/// A lost shard's lease is reported (logged, and counted in `tally_lease_expiries_total`) whichever
/// call expires it: the expiry timer, or another shard's heartbeat.
@Suite struct LeaseExpiryTests {
    /// Keeps the `shard` of every "shard lease expired" warning.
    final class Expiries: Sendable {
        private let box = Mutex<[String]>([])
        var shards: [String] { box.withLock { $0 } }

        var logger: Logger {
            Logger(label: "coordinator") { _ in Handler(expiries: self) }
        }

        struct Handler: LogHandler {
            let expiries: Expiries
            var logLevel: Logger.Level = .trace
            var metadata: Logger.Metadata = [:]
            subscript(metadataKey key: String) -> Logger.Metadata.Value? {
                get { metadata[key] }
                set { metadata[key] = newValue }
            }
            func log(event: LogEvent) {
                guard event.message == "shard lease expired", let shard = event.metadata?["shard"] else { return }
                expiries.box.withLock { $0.append("\(shard)") }
            }
        }
    }

    @Test func aLeaseExpiredByAnotherShardsHeartbeatIsReported() async throws {
        let expiries = Expiries()
        let service = try CoordinatorService(
            partitionCount: 4, store: nil, leaseMilliseconds: 5_000, logger: expiries.logger)
        _ = try await service.heartbeat(ShardID("s1"), url: "http://127.0.0.1:1", now: 0)
        _ = try await service.heartbeat(ShardID("s2"), url: "http://127.0.0.1:2", now: 0)
        _ = try await service.heartbeat(ShardID("s2"), url: "http://127.0.0.1:2", now: 4_000)
        #expect(expiries.shards.isEmpty)
        // s1 has been silent for 6 s: s2's heartbeat is what notices.
        _ = try await service.heartbeat(ShardID("s2"), url: "http://127.0.0.1:2", now: 6_000)
        #expect(expiries.shards == ["s1"])
        #expect(await service.table.leases.keys.map(\.rawValue) == ["s2"])
        // Then s2 goes silent too, and the expiry timer notices.
        try await service.expireLeases(now: 20_000)
        #expect(expiries.shards == ["s1", "s2"])
    }
}
