import Foundation
import Hummingbird

/// `POST /v1/cluster/heartbeat`: a shard registers or renews its lease, naming where it serves.
/// Answered with its ``Orders``.
public struct Heartbeat: Codable, Sendable, Equatable {
    public var shard: String
    /// The shard's base URL (what other nodes forward requests to).
    public var url: String
    /// The partitions the shard quarantined because their logs are damaged (absent: none, or a
    /// shard of an earlier release).
    public var quarantined: [PartitionDamage]?

    public init(shard: String, url: String, quarantined: [PartitionDamage]? = nil) {
        self.shard = shard
        self.url = url
        self.quarantined = quarantined
    }

    /// Whether `url` is a base URL requests may be forwarded to: `http` or `https`, a host, an
    /// optional port, and nothing else (no user, path — not even `/` —, query or fragment), so a forward goes to
    /// exactly the host and path the signature covers.
    public static func isValidURL(_ url: String) -> Bool {
        guard url.utf8.count <= 512, let parts = URLComponents(string: url), let scheme = parts.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = parts.host, !host.isEmpty
        else { return false }
        return parts.user == nil && parts.password == nil && parts.path.isEmpty
            && parts.query == nil && parts.fragment == nil
    }
}

/// `POST /v1/cluster/released`: a shard finished releasing a partition (in-flight appends done,
/// snapshot written, lock dropped). Answered with its ``Orders``.
public struct Released: Codable, Sendable, Equatable {
    public var shard: String
    public var partition: UInt32

    public init(shard: String, partition: UInt32) {
        self.shard = shard
        self.partition = partition
    }
}

/// `POST /v1/cluster/presence`: a shard holds this call open for as long as it lives. The
/// coordinator answers with a stream of lines — an empty line every
/// ``CoordinatorAPI/presenceTick``, `orders` when the shard's orders or the routes changed (the
/// shard heartbeats at once to learn them) — and when the connection breaks (a write fails: the
/// process died and its kernel closed the socket), the shard's lease ends at once instead of a
/// lease later. A paused or cut-off shard keeps its connection open and loses its lease only when
/// it expires, as before.
public struct Presence: Codable, Sendable, Equatable {
    public var shard: String

    public init(shard: String) { self.shard = shard }

    /// The line that tells the shard to heartbeat now.
    public static let ordersLine = "orders"
}
