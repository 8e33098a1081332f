public import Domain

/// The read-model projections and their versions. A projection's version changes whenever the rule
/// that computes its rows changes; `tally rebuild` then builds it anew from the log and reports
/// what changed.
public struct ProjectionCatalog: Sendable {
    /// A projection: a name, a version, and the tables it owns.
    public struct Projection: Sendable, Hashable {
        public var name: String
        public var version: Int
        public var tables: [String]

        public init(name: String, version: Int, tables: [String]) {
            self.name = name
            self.version = version
            self.tables = tables
        }
    }

    public var people: Projection
    /// Version 2 (issue 10): periods show their beacon round, recorded beacon and frozen table's digest;
    /// draws their beacon, the draw a reroll replaces and why.
    public var raffle = Projection(name: "raffle", version: 2, tables: ["raffle_periods", "raffle_draws"])
    public var roles = Projection(
        name: "roles", version: 1, tables: ["role_thresholds", "role_targets", "role_outbox"])
    public var links = Projection(name: "links", version: 1, tables: ["links"])
    public var shop = Projection(name: "shop", version: 1, tables: ["shop_items", "shop_orders"])
    public var guilds = Projection(name: "guilds", version: 1, tables: ["guilds"])

    /// The points-leaderboard score of a person: what "points" ranks by.
    public var pointsScore: @Sendable (PersonState) -> Int64

    public init(
        peopleVersion: Int = 1, pointsScore: @escaping @Sendable (PersonState) -> Int64 = { $0.points }
    ) {
        people = Projection(name: "people", version: peopleVersion, tables: ["people"])
        self.pointsScore = pointsScore
    }

    /// The catalog this build of Tally ships.
    public static let current = ProjectionCatalog()

    public var all: [Projection] { [people, raffle, roles, links, shop, guilds] }

    public func projection(named name: String) -> Projection? { all.first { $0.name == name } }
}
