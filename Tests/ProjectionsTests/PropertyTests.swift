import Domain
import EventLog
import Foundation
import TallyTesting
import Testing

@testable import Projections

/// Random interleavings of commands across many guilds, checked against a deliberately simple
/// reference model of the same rules, and for isolation between guilds.
@Suite(.timeLimit(.minutes(5))) struct PropertyTests {
    struct Generated {
        var steps: [(guild: GuildID, command: Command, key: String, time: Timestamp)]
    }

    /// A seeded random interleaving: chat and ticks (tracking forced on), adjustments, spends,
    /// ticket grants and removals, and redelivered gifted subs, over `guilds` guilds.
    static func generate(seed: UInt64, guilds: Int, commands: Int) -> Generated {
        var rng = SplitMix64(seed: seed)
        var clock: Int64 = 1_796_083_200_000
        var steps: [(GuildID, Command, String, Timestamp)] = []
        let ids = (0..<guilds).map { GuildID(UInt64(900 + $0) << 22) }
        let commitment = RaffleDrawing.commitment(for: Array(repeating: 1, count: 32))
        for g in ids {
            steps.append((g, .overrideTracking(.forcedOn), "setup-track-\(g)", Timestamp(milliseconds: clock)))
            steps.append(
                (
                    g, .openRafflePeriod(startsAt: nil, endsAt: nil, seedCommitment: commitment), "setup-raffle-\(g)",
                    Timestamp(milliseconds: clock)
                ))
        }
        var giftKeys: [String] = []
        for i in 0..<commands {
            clock += Int64(1 + rng.next() % 40) * 1000
            let g = ids[Int(rng.next() % UInt64(guilds))]
            let chatter = KickUserID(1 + rng.next() % 8)
            let p = PersonID.kick(chatter)
            let command: Command
            var key = "c\(i)"
            switch rng.next() % 10 {
            case 0, 1, 2: command = .recordChatActivity(chatter, username: "u\(chatter.rawValue)")
            case 3, 4: command = .tick
            case 5: command = .adjustPoints(p, delta: Int64(rng.next() % 150) - 50, reason: "r")
            case 6: command = .spendPoints(p, amount: Int64(1 + rng.next() % 30), reason: "s")
            case 7: command = .grantTickets(p, amount: Int64(1 + rng.next() % 9), reason: "g")
            case 8: command = .removeTickets(p, amount: Int64(1 + rng.next() % 9), source: .admin, reason: "x")
            default:
                // Kick redelivers gift events: reuse an earlier key half of the time.
                if !giftKeys.isEmpty, rng.next() % 2 == 0 {
                    key = giftKeys[Int(rng.next() % UInt64(giftKeys.count))]
                } else {
                    key = "gift-\(i)"
                    giftKeys.append(key)
                }
                command = .recordGiftedSubs(
                    gifter: chatter, username: "u\(chatter.rawValue)", count: Int64(1 + rng.next() % 3))
            }
            steps.append((g, command, key, Timestamp(milliseconds: clock)))
        }
        return Generated(steps: steps)
    }

    /// The reference: per guild and chatter, minutes, points and tickets, by the rules in prose.
    struct Reference {
        struct Person: Equatable {
            var minutes: Int64 = 0, unconverted: Int64 = 0, points: Int64 = 0, admin: Int64 = 0, gifts: Int64 = 0
        }
        var people: [GuildID: [UInt64: Person]] = [:]
        var lastSpoke: [GuildID: [UInt64: Int64]] = [:]
        var seenKeys: [GuildID: Set<String>] = [:]
        /// When each guild's last crediting tick ran: one tick per 60 s interval.
        var lastTick: [GuildID: Int64] = [:]

        mutating func run(_ g: GuildID, _ command: Command, key: String, at now: Int64) {
            guard !(seenKeys[g]?.contains(key) ?? false) else { return }
            var changed = true
            switch command {
            case .recordChatActivity(let c, _): lastSpoke[g, default: [:]][c.rawValue] = now
            case .tick:
                if let last = lastTick[g], now - last < 60_000 { return }
                let credited = (lastSpoke[g] ?? [:]).filter { now - $0.value <= 120_000 }.keys
                changed = !credited.isEmpty
                if changed { lastTick[g] = now }
                for c in credited {
                    var p = people[g, default: [:]][c, default: Person()]
                    p.minutes += 1
                    p.unconverted += 1
                    if p.unconverted >= 5 {
                        p.points += p.unconverted / 5
                        p.unconverted %= 5
                    }
                    people[g, default: [:]][c] = p
                }
            case .adjustPoints(.kick(let k), let delta, _):
                let c = k.rawValue
                let balance = people[g]?[c]?.points ?? 0
                changed = delta != 0 && balance + delta >= 0
                if changed { people[g, default: [:]][c, default: Person()].points += delta }
            case .spendPoints(.kick(let k), let amount, _):
                let c = k.rawValue
                changed = (people[g]?[c]?.points ?? 0) >= amount
                if changed { people[g]![c]!.points -= amount }
            case .grantTickets(.kick(let k), let amount, _):
                let c = k.rawValue
                people[g, default: [:]][c, default: Person()].admin += amount
            case .removeTickets(.kick(let k), let amount, _, _):
                let c = k.rawValue
                changed = (people[g]?[c]?.admin ?? 0) >= amount
                if changed { people[g]![c]!.admin -= amount }
            case .recordGiftedSubs(let c?, _, let count, _, _):
                people[g, default: [:]][c.rawValue, default: Person()].gifts += count * 15
            default: break
            }
            if changed { seenKeys[g, default: []].insert(key) }
        }
    }

    /// Runs steps through the real rules into a real log and projects them into SQLite.
    func project(_ steps: [(guild: GuildID, command: Command, key: String, time: Timestamp)], in dir: String)
        async throws -> ReadModelStore
    {
        var fixture = try LogFixture(dir + "/log")
        for s in steps {
            try await fixture.run(
                .init(guild: s.guild, command: s.command, context: CommandContext(key: s.key, time: s.time)))
        }
        let store = try ReadModelStore(path: dir + "/rm.sqlite")
        var projector = Projector(log: fixture.log, store: store)
        projector.flushEvery = 333
        try projector.catchUp()
        await fixture.log.close()
        return store
    }

    @Test(arguments: [UInt64(11), 22, 33, 44])
    func readModelsMatchTheReferenceAndGuildsAreIsolated(seed: UInt64) async throws {
        let generated = Self.generate(seed: seed, guilds: 5, commands: 1_500)
        var reference = Reference()
        for s in generated.steps { reference.run(s.guild, s.command, key: s.key, at: s.time.rawValue) }
        let dir = TemporaryDirectory()
        let store = try await project(generated.steps, in: dir.path + "/all")
        for (guild, people) in reference.people {
            for (chatter, expected) in people {
                let row = try store.person(.kick(KickUserID(chatter)), guild: guild)
                #expect(row?.minutes == expected.minutes, "seed \(seed) guild \(guild) kick:\(chatter) minutes")
                #expect(row?.points == expected.points, "seed \(seed) guild \(guild) kick:\(chatter) points")
                #expect(
                    row?.tickets["admin"] == expected.admin, "seed \(seed) guild \(guild) kick:\(chatter) admin tickets"
                )
                #expect(
                    row?.tickets["gifted_sub"] == expected.gifts,
                    "seed \(seed) guild \(guild) kick:\(chatter) gift tickets")
            }
        }
        // Remove one guild's commands entirely: every other guild's read models are unchanged.
        let removed = generated.steps[0].guild
        let without = try await project(generated.steps.filter { $0.guild != removed }, in: dir.path + "/without")
        func rows(_ store: ReadModelStore, excluding guild: GuildID) throws -> [String] {
            try store.dump().filter {
                !$0.hasPrefix("checkpoint") && !$0.contains("guild:\(Int64(bitPattern: guild.rawValue))")
            }
        }
        #expect(try rows(store, excluding: removed) == rows(without, excluding: removed), "seed \(seed)")
        #expect(try !without.knowsGuild(removed))
    }
}
