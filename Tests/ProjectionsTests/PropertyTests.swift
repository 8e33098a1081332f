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

    static let seed: [UInt8] = Array(repeating: 1, count: 32)
    /// Raffle periods last 15 minutes: with commands every ~20 s over several guilds, periods open,
    /// end, close, get their beacon and are drawn many times per run.
    static let periodMs: Int64 = 15 * 60_000

    static func user(for chatter: KickUserID) -> UserID { UserID(7_000 + chatter.rawValue) }
    static func beacon(for period: PeriodID) -> [UInt8] {
        RaffleDrawing.commitment(for: Array("beacon-\(period.rawValue)".utf8))
    }

    /// A seeded random interleaving over `guilds` guilds: chat and ticks (tracking forced on),
    /// adjustments, spends, ticket grants and removals, redelivered gifted subs, links, exclusions,
    /// ticket and song purchases with cancellations, and raffle periods that open, end, close, get
    /// their beacon and are drawn and rerolled.
    static func generate(seed: UInt64, guilds: Int, commands: Int) -> Generated {
        var rng = SplitMix64(seed: seed)
        var clock: Int64 = 1_796_083_200_000
        var steps: [(GuildID, Command, String, Timestamp)] = []
        let ids = (0..<guilds).map { GuildID(UInt64(900 + $0) << 22) }
        let commitment = RaffleDrawing.commitment(for: Self.seed)
        enum Phase { case open, closed, beacon, drawn, rerolled }
        var phase: [GuildID: (period: UInt32, endsAt: Int64, phase: Phase)] = [:]
        var orders: [GuildID: UInt64] = [:]
        for g in ids {
            let t = Timestamp(milliseconds: clock)
            steps.append((g, .overrideTracking(.forcedOn), "setup-track-\(g)", t))
            steps.append(
                (
                    g,
                    .createShopItem(ShopItem(id: ItemID(1), name: "10 tickets", price: 20, kind: .raffleTickets(10))),
                    "setup-item1-\(g)", t
                ))
            steps.append(
                (
                    g, .createShopItem(ShopItem(id: ItemID(2), name: "Song", price: 15, perPersonLimit: 1)),
                    "setup-item2-\(g)", t
                ))
            steps.append(
                (
                    g,
                    .openRafflePeriod(
                        startsAt: t, endsAt: Timestamp(milliseconds: clock + periodMs), seedCommitment: commitment),
                    "setup-raffle-\(g)", t
                ))
            phase[g] = (1, clock + periodMs, .open)
        }
        var giftKeys: [String] = []
        for i in 0..<commands {
            clock += Int64(1 + rng.next() % 40) * 1000
            let now = Timestamp(milliseconds: clock)
            let g = ids[Int(rng.next() % UInt64(guilds))]
            let chatter = KickUserID(1 + rng.next() % 8)
            let p = PersonID.kick(chatter)
            let command: Command
            var key = "c\(i)"
            switch rng.next() % 20 {
            case 0, 1, 2, 3, 4: command = .recordChatActivity(chatter, username: "u\(chatter.rawValue)")
            case 5, 6, 7: command = .tick
            case 8: command = .adjustPoints(p, delta: Int64(rng.next() % 150) - 50, reason: "r")
            case 9: command = .spendPoints(p, amount: Int64(1 + rng.next() % 30), reason: "s")
            case 10: command = .grantTickets(p, amount: Int64(1 + rng.next() % 9), reason: "g")
            case 11: command = .removeTickets(p, amount: Int64(1 + rng.next() % 9), source: .admin, reason: "x")
            case 12:
                let user = Self.user(for: chatter)
                steps.append(
                    (g, .requestLink(user, expiresAt: Timestamp(milliseconds: clock + 300_000)), "c\(i)-request", now))
                command = .confirmLink(user, chatter, kickUsername: "u\(chatter.rawValue)")
            case 13: command = .setRaffleExclusion(p, excluded: rng.next() % 3 == 0)
            case 14:
                command = .purchase(ItemID(1 + UInt32(rng.next() % 2)), p, requirement: "")
                orders[g, default: 0] += 1
            case 15:
                let n = orders[g] ?? 0
                command = .cancelOrder(OrderID(1 + rng.next() % max(1, n)), reason: "changed mind")
            case 16, 17:
                var (period, endsAt, current) = phase[g]!
                let id = PeriodID(period)
                switch current {
                case .open where clock >= endsAt:
                    command = .closeRafflePeriod(seed: Self.seed)
                    current = .closed
                case .closed:
                    let round = DrandChain.mainnet.round(after: Timestamp(milliseconds: endsAt))!
                    command = .recordBeacon(period: id, round: round, value: Self.beacon(for: id))
                    if clock >= DrandChain.mainnet.time(of: round)!.rawValue { current = .beacon }
                case .beacon:
                    command = .drawRaffle(seed: nil, winners: 1 + Int(rng.next() % 2), period: id)
                    current = .drawn
                case .drawn:
                    command = .rerollRaffle(period: id, replaces: 1, reason: "did not answer")
                    current = .rerolled
                case .rerolled:
                    command = .openRafflePeriod(
                        startsAt: now, endsAt: Timestamp(milliseconds: clock + periodMs), seedCommitment: commitment)
                    (period, endsAt, current) = (period + 1, clock + periodMs, .open)
                default:
                    command = .recordChatActivity(chatter, username: "u\(chatter.rawValue)")
                }
                phase[g] = (period, endsAt, current)
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
            steps.append((g, command, key, now))
        }
        return Generated(steps: steps)
    }

    /// The reference: the rules in prose, per guild, written without the domain's types for state.
    /// Minutes, points and tickets by source per person; links merge a chatter into its Discord
    /// user (commands and refunds naming the chatter then reach the user); orders and their limit
    /// slots; periods that reset tickets, stop taking them at their end, freeze a table at close and
    /// are drawn from it with the beacon (the draw recomputed here from SHA-256 alone).
    struct Reference {
        struct Person: Equatable {
            var minutes: Int64 = 0, unconverted: Int64 = 0, points: Int64 = 0
            var admin: Int64 = 0, gifts: Int64 = 0, shop: Int64 = 0, watchtime: Int64 = 0
            var periodMinutes: Int64 = 0, hoursPaid: Int64 = 0
            var excluded = false
            var total: Int64 { admin + gifts + shop + watchtime }
        }
        struct Order {
            var person: PersonID
            var item: UInt32
            var pending: Bool
        }
        struct Guild {
            var people: [PersonID: Person] = [:]
            var lastSpoke: [UInt64: Int64] = [:]
            var links: [UInt64: UserID] = [:]
            var pendingLinks: [UserID: Int64] = [:]
            var seenKeys: Set<String> = []
            var lastTick: Int64?
            var orders: [UInt64: Order] = [:]
            var slots: [PersonID: [UInt64]] = [:]
            var period: UInt32 = 0
            var open: (endsAt: Int64, round: UInt64)?
            var rounds: [UInt32: UInt64] = [:]
            var tables: [UInt32: [(PersonID, Int64, Bool)]] = [:]
            var beacons: [UInt32: [UInt8]] = [:]
            var draws: [UInt32: [(number: UInt32, winner: PersonID, replaces: UInt32)]] = [:]

            func owner(_ p: PersonID) -> PersonID {
                if case .kick(let k) = p, let u = links[k.rawValue] { return .discord(u) }
                return p
            }
            func takesTickets(_ now: Int64) -> Bool { open.map { now < $0.endsAt } ?? false }
        }
        var guilds: [GuildID: Guild] = [:]

        mutating func run(_ g: GuildID, _ command: Command, key: String, at now: Int64) {
            var s = guilds[g] ?? Guild()
            guard !s.seenKeys.contains(key) else { return }
            if s.apply(command, now: now, guild: g) { s.seenKeys.insert(key) }
            guilds[g] = s
        }

        /// The draw algorithm of `docs/raffle-verification.md`, from SHA-256 alone.
        static func draw(
            guild: GuildID, period: UInt32, number: UInt32, beacon: [UInt8], table: [(PersonID, Int64, Bool)],
            winners: Set<PersonID>
        ) -> PersonID? {
            let eligible = table.filter { !$0.2 && !winners.contains($0.0) }
            let total = UInt64(eligible.reduce(0) { $0 + $1.1 })
            guard total > 0 else { return nil }
            func be(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> (56 - 8 * $0)) } }
            let sha = RaffleDrawing.commitment(for:)  // SHA-256
            let seed = sha(PropertyTests.seed + beacon)
            let prefix =
                seed + Array("tally-raffle-v2".utf8) + be(guild.rawValue) + be(UInt64(period)) + be(UInt64(number))
            let rejectFrom = UInt64.max - (UInt64.max % total + 1) % total  // values above are redrawn
            var attempt: UInt64 = 0
            var v: UInt64 = 0
            repeat {
                v = sha(prefix + be(attempt))[0..<8].reduce(0) { $0 << 8 | UInt64($1) }
                attempt += 1
            } while v > rejectFrom
            var ticket = Int64(v % total)
            for (person, tickets, _) in eligible {
                if ticket < tickets { return person }
                ticket -= tickets
            }
            return nil
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
        let generated = Self.generate(seed: seed, guilds: 5, commands: 3_000)
        var reference = Reference()
        for s in generated.steps { reference.run(s.guild, s.command, key: s.key, at: s.time.rawValue) }
        let dir = TemporaryDirectory()
        let store = try await project(generated.steps, in: dir.path + "/all")
        var linked = 0
        var drawn = 0
        var refunds = 0
        for (guild, expected) in reference.guilds {
            linked += expected.links.count
            refunds += expected.orders.values.filter { $0.item == 2 && !$0.pending }.count
            for (person, x) in expected.people {
                let row = try store.person(person, guild: guild)
                let at = "seed \(seed) guild \(guild) \(person)"
                #expect(row?.minutes == x.minutes, "\(at) minutes")
                #expect(row?.points == x.points, "\(at) points")
                #expect(row?.tickets["admin"] == x.admin, "\(at) admin tickets")
                #expect(row?.tickets["gifted_sub"] == x.gifts, "\(at) gift tickets")
                #expect(row?.tickets["shop"] == x.shop, "\(at) shop tickets")
                #expect(row?.tickets["watchtime"] == x.watchtime, "\(at) watch-time tickets")
                #expect(row?.excluded == x.excluded, "\(at) exclusion")
            }
            // A linked chatter has no row of its own: everything moved to the Discord user.
            for chatter in expected.links.keys {
                #expect(
                    try store.person(.kick(KickUserID(chatter)), guild: guild) == nil, "seed \(seed) kick:\(chatter)")
            }
            let draws = try store.raffle(guild: guild).draws
            let expectedDraws = expected.draws.sorted { $0.key < $1.key }.flatMap { period, ds in
                ds.map { "\(period):\($0.number) \($0.winner) replaces \($0.replaces)" }
            }
            #expect(
                draws.map { "\($0.period):\($0.number) \($0.winner) replaces \($0.replaces ?? 0)" } == expectedDraws,
                "seed \(seed) guild \(guild) draws")
            drawn += expectedDraws.count
        }
        #expect(
            linked > 0 && drawn > 0 && refunds > 0,
            "the run exercises links (\(linked)), draws (\(drawn)) and refunds (\(refunds))")
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

extension PropertyTests.Reference.Guild {
    typealias Person = PropertyTests.Reference.Person

    /// Applies one command; returns whether it changed anything (then its key is remembered).
    mutating func apply(_ command: Command, now: Int64, guild: GuildID) -> Bool {
        switch command {
        case .overrideTracking, .createShopItem:
            return true
        case .recordChatActivity(let c, _):
            lastSpoke[c.rawValue] = now
            return true
        case .tick:
            if let last = lastTick, now - last < 60_000 { return false }
            let credited = lastSpoke.filter { now - $0.value <= 120_000 && $0.value <= now }.keys
                .map { owner(.kick(KickUserID($0))) }
            guard !credited.isEmpty else { return false }
            lastTick = now
            for p in credited {
                var x = people[p] ?? Person()
                x.minutes += 1
                x.unconverted += 1
                if x.unconverted >= 5 {
                    x.points += x.unconverted / 5
                    x.unconverted %= 5
                }
                if open != nil {
                    if case .discord = p, takesTickets(now) {
                        x.watchtime += 10 * ((x.periodMinutes + 1) / 60 - x.hoursPaid)
                    }
                    x.periodMinutes += 1
                    if case .discord = p { x.hoursPaid = x.periodMinutes / 60 }
                }
                people[p] = x
            }
            return true
        case .adjustPoints(let named, let delta, _):
            let p = owner(named)
            guard delta != 0, (people[p]?.points ?? 0) + delta >= 0 else { return false }
            people[p, default: Person()].points += delta
            return true
        case .spendPoints(let named, let amount, _):
            let p = owner(named)
            guard (people[p]?.points ?? 0) >= amount else { return false }
            people[p]!.points -= amount
            return true
        case .grantTickets(let named, let amount, _):
            guard takesTickets(now) else { return false }
            people[owner(named), default: Person()].admin += amount
            return true
        case .removeTickets(let named, let amount, _, _):
            let p = owner(named)
            guard takesTickets(now), (people[p]?.admin ?? 0) >= amount else { return false }
            people[p]!.admin -= amount
            return true
        case .recordGiftedSubs(let c?, _, let count, _, _):
            if takesTickets(now) { people[owner(.kick(c)), default: Person()].gifts += count * 15 }
            return true
        case .requestLink(let user, let expiresAt):
            guard !links.values.contains(user) else { return false }
            pendingLinks[user] = expiresAt.rawValue
            return true
        case .confirmLink(let user, let c, _):
            guard let expiry = pendingLinks[user], expiry > now else { return false }
            if let other = links[c.rawValue], other != user { return true }  // linkRejected
            guard !links.values.contains(user) else { return false }
            let chatter = PersonID.kick(c)
            if let open, now >= open.endsAt, people[chatter] != nil { return false }
            pendingLinks[user] = nil
            links[c.rawValue] = user
            let to = PersonID.discord(user)
            if let from = people.removeValue(forKey: chatter) {
                var x = people[to] ?? Person()
                x.minutes += from.minutes
                x.unconverted += from.unconverted
                x.points += from.points
                x.admin += from.admin
                x.gifts += from.gifts
                x.shop += from.shop
                x.watchtime += from.watchtime
                x.periodMinutes += from.periodMinutes
                x.hoursPaid += from.hoursPaid
                x.excluded = x.excluded || from.excluded
                people[to] = x
            }
            if let moved = slots.removeValue(forKey: chatter) { slots[to, default: []] += moved }
            return true
        case .setRaffleExclusion(let named, let excluded):
            if let open, now >= open.endsAt { return false }
            let p = owner(named)
            guard (people[p]?.excluded ?? false) != excluded else { return false }
            people[p, default: Person()].excluded = excluded
            return true
        case .purchase(let item, let named, _):
            let p = owner(named)
            let price: Int64 = item.rawValue == 1 ? 20 : 15
            if item.rawValue == 2, !(slots[p] ?? []).filter({ orders[$0]?.item == 2 }).isEmpty { return false }
            if item.rawValue == 1, !takesTickets(now) { return false }
            guard (people[p]?.points ?? 0) >= price else { return false }
            let id = UInt64(orders.count + 1)
            orders[id] = PropertyTests.Reference.Order(person: p, item: item.rawValue, pending: item.rawValue == 2)
            people[p]!.points -= price
            if item.rawValue == 1 { people[p]!.shop += 10 }
            slots[p, default: []].append(id)
            return true
        case .cancelOrder(let id, _):
            guard let order = orders[id.rawValue], order.pending else { return false }
            orders[id.rawValue]!.pending = false
            let to = owner(order.person)
            people[to, default: Person()].points += 15
            for holder in [to, order.person] {
                if let i = slots[holder]?.firstIndex(of: id.rawValue) {
                    slots[holder]!.remove(at: i)
                    break
                }
            }
            return true
        case .openRafflePeriod(_, let endsAt, _):
            guard open == nil, let endsAt, let end = endsAt.rawValue as Int64?, end > now else { return false }
            period += 1
            let round = DrandChain.mainnet.round(after: endsAt)!
            open = (end, round)
            rounds[period] = round
            for p in people.keys {
                people[p]!.admin = 0
                people[p]!.gifts = 0
                people[p]!.shop = 0
                people[p]!.watchtime = 0
                people[p]!.periodMinutes = 0
                people[p]!.hoursPaid = 0
            }
            return true
        case .closeRafflePeriod:
            guard open != nil else { return false }
            open = nil
            tables[period] = people.filter { $0.value.total > 0 }.sorted { $0.key < $1.key }.map {
                ($0.key, $0.value.total, $0.value.excluded)
            }
            return true
        case .recordBeacon(let p?, let round, let value):
            let id = p.rawValue
            guard open == nil, id == period, rounds[id] == round, beacons[id] == nil,
                now >= DrandChain.mainnet.time(of: round)!.rawValue
            else { return false }
            beacons[id] = value
            return true
        case .drawRaffle(_, let count, let p?):
            return drawOne(p.rawValue, count: count, replaces: 0, guild: guild)
        case .rerollRaffle(let p?, let replaces, _):
            guard (draws[p.rawValue] ?? []).contains(where: { $0.number == replaces }),
                !(draws[p.rawValue] ?? []).contains(where: { $0.replaces == replaces })
            else { return false }
            return drawOne(p.rawValue, count: 1, replaces: replaces, guild: guild)
        default:
            Issue.record("the reference does not model \(command)")
            return false
        }
    }

    private mutating func drawOne(_ id: UInt32, count: Int, replaces: UInt32, guild: GuildID) -> Bool {
        guard let table = tables[id], let beacon = beacons[id] else { return false }
        var made = false
        for _ in 0..<count {
            let earlier = draws[id] ?? []
            let number = UInt32(earlier.count + 1)
            guard
                let winner = PropertyTests.Reference.draw(
                    guild: guild, period: id, number: number, beacon: beacon, table: table,
                    winners: Set(earlier.map(\.winner)))
            else { break }
            draws[id, default: []].append((number, winner, replaces))
            made = true
        }
        return made
    }
}
