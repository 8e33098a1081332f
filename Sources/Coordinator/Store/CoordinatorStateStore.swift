/// Where a coordinator keeps its ``CoordinatorState``, so that a restarted coordinator (or another
/// one taking over) moves nothing.
///
/// Two implementations: ``AssignmentStore``, a SQLite file beside the data directory (one
/// coordinator), and `PostgresCoordinatorStore` in the `PostgresStore` module (several coordinators
/// on one database, one active at a time). A store shared by several coordinators fences them by
/// ``CoordinatorTerm``: a write of any term but the newest is refused and changes nothing.
public protocol CoordinatorStateStore: Sendable {
    /// The saved state, with `configuration` as its table's configuration, or nil if none was saved
    /// (or it was saved for another partition count).
    ///
    /// - Throws: when the store cannot be read.
    func load(configuration: AssignmentTable.Configuration) async throws -> CoordinatorState?

    /// Saves `state`, the successor of `previous` (what the store last saved or loaded, so a store
    /// may write just the difference), as the active coordinator of `term`: all of it or nothing.
    ///
    /// - Throws: ``CoordinatorError`` `deposed` when a newer term has taken over (nothing is
    ///   written); any other error when the store cannot be written (nothing is written).
    func save(_ state: CoordinatorState, replacing previous: CoordinatorState, term: CoordinatorTerm) async throws
}

/// What a coordinator persists: the assignment table with the live shards' leases, and the shard
/// registry (where each shard serves).
public struct CoordinatorState: Sendable, Hashable {
    public var table: AssignmentTable
    /// Where each shard serves requests, as it last registered.
    public var urls: [ShardID: String]

    public init(table: AssignmentTable, urls: [ShardID: String] = [:]) {
        self.table = table
        self.urls = urls
    }
}

/// The generation of the active coordinator: raised by each coordinator that takes over, and the
/// condition of every write it makes, so that one that lost its place can never overwrite state.
public struct CoordinatorTerm: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public var description: String { String(rawValue) }
    public static func < (a: CoordinatorTerm, b: CoordinatorTerm) -> Bool { a.rawValue < b.rawValue }

    /// The term of a coordinator that has its store to itself (a file): never fenced.
    public static let sole = CoordinatorTerm(0)
}
