import Domain
import EventLog
import Projections
import TallyTesting
import Testing

@testable import Shard

/// `/audit` pages: walked back through `next_before`, they are exactly the audit trail folded from
/// the guild's first event, for everyone and for one person, whatever the checkpoints' spacing.
@Suite(.timeLimit(.minutes(2))) struct AuditPagingTests {
    @Test(arguments: [(37, 3), (100, 16), (7, 2)])
    func pagesWalkedBackAreTheWholeTrail(limit: Int, checkpoints: Int) async throws {
        let dir = TemporaryDirectory()
        let data = try DataDirectory.open(path: dir.path, creatingWith: 1)
        let node = ShardNode(configuration: .init(data: data), logger: testLogger)
        let guild = GuildID(5_033_164_800_000_000_000)
        let other = GuildID(5_033_164_800_000_000_001)
        let people = (1...7).map { PersonID.discord(UserID(1_100_000_000_000_000_000 + $0)) }
        var seed: UInt64 = 11
        for i in 0..<3_000 {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let person = people[Int(seed >> 33) % people.count]
            let command = Command.adjustPoints(person, delta: Int64(i % 9) + 1, reason: "r\(i)")
            _ = try await node.handle(
                command, guild: i % 4 == 0 ? other : guild,
                context: CommandContext(key: "k\(i)", time: Timestamp(milliseconds: 1_796_083_200_000 + Int64(i))))
        }
        let log = try await node.owner(of: PartitionID(0)).reader
        let history = GuildHistory(log: log)
        let index = AuditIndex(maximumCheckpoints: checkpoints, guildsKept: 1)
        for person in [nil, people[3]] {
            let expected = try history.audit(guild: guild, person: person)
            #expect(expected.count > 200)
            var walked: [AuditEntry] = []
            var before: Offset?
            var pages = 0
            repeat {
                let page = try index.page(log: log, guild: guild, person: person, before: before, limit: limit)
                #expect(page.entries.count >= min(limit, expected.count - walked.count) || page.nextBefore == nil)
                walked = page.entries + walked
                before = page.nextBefore
                pages += 1
            } while before != nil && pages < 10_000
            #expect(walked == expected, "pages of \(limit) for \(person.map(\.description) ?? "everyone")")
            // The other guild's checkpoints evict this one's: a later page is still right.
            _ = try index.page(log: log, guild: other, person: nil, before: nil, limit: 5)
            let middle = expected[expected.count / 2].offset
            let again = try index.page(log: log, guild: guild, person: person, before: middle, limit: limit)
            #expect(again.entries == Array(expected.filter { $0.offset < middle }.suffix(again.entries.count)))
        }
        // Through the node, as `GET /audit` reads it.
        let newest = try await node.auditPage(guild: guild, person: nil, before: nil, limit: 10)
        #expect(newest.entries == Array(try history.audit(guild: guild).suffix(10)))
        await node.shutdown()
    }
}
