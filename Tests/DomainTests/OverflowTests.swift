import EventLog
import Testing

@testable import Domain

/// Every Int64 sum and product in the rules is checked: a total past Int64 is an `amount_overflow`
/// (or `invalid_item`) rejection, never a trap. States near the limit are built by applying events
/// directly, as a log written by an older version (or a long-lived guild) could hold them.
@Suite struct OverflowTests {
    static let alice = PersonID.discord(UserID(1_100_000_000_000_000_001))
    static let bob = PersonID.discord(UserID(1_100_000_000_000_000_002))
    static let now = Timestamp(milliseconds: 1_796_083_200_000)

    /// A guild state with `events` applied in order.
    static func state(_ events: [DomainEvent]) -> GuildState {
        var s = GuildState(guild: GuildID(77), globalDefaults: [:])
        for (i, e) in events.enumerated() { s.apply(e, sequence: UInt64(i + 1), timestamp: now) }
        return s
    }

    static let openPeriod = DomainEvent.rafflePeriodOpened(
        RafflePeriod(
            id: PeriodID(1), startsAt: Timestamp(milliseconds: 0), endsAt: Timestamp(milliseconds: Int64.max),
            seedCommitment: RaffleDrawing.commitment(for: Harness.seed)))

    static func code(_ decision: Decision) -> String? {
        if case .rejected(let r) = decision { return r.code.name }
        return nil
    }

    static func decide(_ state: GuildState, _ command: Command) -> Decision {
        state.decide(command, context: CommandContext(key: "overflow-test", time: now))
    }

    /// The crash loop of issue 9: an item with this window made every purchase of it trap.
    @Test func purchaseOfAnItemWithAHugeWindowIsRejected() {
        let item = ShopItem(
            id: ItemID(1), name: "VIP", price: 10, perPersonLimit: 1, limitWindowSeconds: Int64.max)
        let s = Self.state([.shopItemCreated(item), .pointsAdjusted(Self.alice, delta: 100, reason: "r", by: .unknown)])
        #expect(Self.code(Self.decide(s, .purchase(ItemID(1), Self.alice, requirement: ""))) == "amount_overflow")
        // Creating or editing such an item is refused in the first place.
        #expect(Self.code(Self.decide(Self.state([]), .createShopItem(item))) == "invalid_item")
        #expect(Self.code(Self.decide(s, .editShopItem(item))) == "invalid_item")
        var fixed = item
        fixed.limitWindowSeconds = GuildState.maxAmount
        guard case .accepted = Self.decide(s, .editShopItem(fixed)) else {
            Issue.record("an item with the largest window is refused")
            return
        }
        let edited = Self.state([
            .shopItemCreated(fixed), .pointsAdjusted(Self.alice, delta: 100, reason: "r", by: .unknown),
        ])
        guard case .accepted = Self.decide(edited, .purchase(ItemID(1), Self.alice, requirement: "")) else {
            Issue.record("a purchase within the largest window is refused")
            return
        }
    }

    @Test func adjustmentPastTheLargestBalanceIsRejected() {
        let s = Self.state([.pointsAdjusted(Self.alice, delta: Int64.max - 5, reason: "r", by: .unknown)])
        #expect(Self.code(Self.decide(s, .adjustPoints(Self.alice, delta: 10, reason: "more"))) == "amount_overflow")
        guard case .accepted = Self.decide(s, .adjustPoints(Self.alice, delta: 5, reason: "up to the max")) else {
            Issue.record("an adjustment to exactly Int64.max is refused")
            return
        }
    }

    @Test func ticketGrantPastTheLargestCountIsRejected() {
        let sameSource = Self.state([
            Self.openPeriod, .ticketsGranted(Self.alice, amount: Int64.max - 1, source: .admin, reason: "r"),
        ])
        #expect(
            Self.code(Self.decide(sameSource, .grantTickets(Self.alice, amount: 2, reason: "r"))) == "amount_overflow")
        // Each source fits, but the person's total (which the draw sums) would not.
        let total = Self.state([
            Self.openPeriod, .ticketsGranted(Self.alice, amount: Int64.max - 1, source: .watchtime, reason: "r"),
        ])
        #expect(Self.code(Self.decide(total, .grantTickets(Self.alice, amount: 2, reason: "r"))) == "amount_overflow")
    }

    @Test func ticketRemovalSummingPastInt64IsRejected() {
        let s = Self.state([
            Self.openPeriod, .ticketsGranted(Self.alice, amount: Int64.max, source: .admin, reason: "r"),
            .ticketsGranted(Self.alice, amount: Int64.max, source: .shop, reason: "r"),
        ])
        #expect(
            Self.code(Self.decide(s, .removeTickets(Self.alice, amount: 1, source: nil, reason: "r")))
                == "amount_overflow")
    }

    @Test func drawWhoseTicketTotalPassesInt64IsRejected() {
        let s = Self.state([
            Self.openPeriod, .ticketsGranted(Self.alice, amount: Int64.max / 2 + 1, source: .admin, reason: "r"),
            .ticketsGranted(Self.bob, amount: Int64.max / 2 + 1, source: .admin, reason: "r"),
        ])
        // Draws are only of closed periods now; the ticket table itself is what must not overflow.
        #expect(
            RaffleDrawing.draw(
                guild: GuildID(77), period: PeriodID(1), number: 1, seed: Harness.seed,
                participants: RaffleDrawing.participants(in: s, excludingWinners: [])) == nil)
    }

    @Test func refundPastTheLargestBalanceIsRejected() {
        let item = ShopItem(id: ItemID(1), name: "Shoutout", price: 10)
        let order = Order(
            id: OrderID(1), item: ItemID(1), person: Self.alice, price: 10, tickets: 0, period: nil, requirement: "",
            status: .pending)
        let s = Self.state([
            .shopItemCreated(item), .pointsAdjusted(Self.alice, delta: 10, reason: "r", by: .unknown),
            .itemPurchased(order), .pointsAdjusted(Self.alice, delta: Int64.max - 5, reason: "r", by: .unknown),
        ])
        #expect(Self.code(Self.decide(s, .cancelOrder(OrderID(1), reason: "r"))) == "amount_overflow")
    }

    @Test func ticketItemPurchasePastTheLargestCountIsRejected() {
        let item = ShopItem(id: ItemID(1), name: "Ticket", price: 1, kind: .raffleTickets(10))
        let s = Self.state([
            Self.openPeriod, .shopItemCreated(item), .pointsAdjusted(Self.alice, delta: 5, reason: "r", by: .unknown),
            .ticketsGranted(Self.alice, amount: Int64.max - 5, source: .shop, reason: "r"),
        ])
        #expect(Self.code(Self.decide(s, .purchase(ItemID(1), Self.alice, requirement: ""))) == "amount_overflow")
    }

    @Test func giftedSubTicketsPastTheLargestCountAreRejected() {
        var s = Self.state([
            Self.openPeriod,
            .ticketsGranted(.kick(KickUserID(9)), amount: Int64.max - 1, source: .giftedSub, reason: "r"),
        ])
        s.settings.overrides[.giftedSubTickets] = 5
        #expect(
            Self.code(Self.decide(s, .recordGiftedSubs(gifter: KickUserID(9), username: "g", count: 1)))
                == "amount_overflow")
    }

    @Test func linkMergingPastInt64IsRejected() {
        let user = UserID(1_100_000_000_000_000_001)
        let s = Self.state([
            .pointsAdjusted(.discord(user), delta: Int64.max - 1, reason: "r", by: .unknown),
            .pointsAdjusted(.kick(KickUserID(9)), delta: 5, reason: "r", by: .unknown),
            .linkRequested(user, expiresAt: Timestamp(milliseconds: Self.now.rawValue + 60_000)),
        ])
        #expect(
            Self.code(Self.decide(s, .confirmLink(user, KickUserID(9), kickUsername: "nine"))) == "amount_overflow")
    }

    @Test func itemIDsRunningOutIsRejected() {
        let s = Self.state([.shopItemCreated(ShopItem(id: ItemID(UInt32.max), name: "Last", price: 1))])
        #expect(
            Self.code(Self.decide(s, .createShopItem(ShopItem(id: ItemID(0), name: "Next", price: 1))))
                == "amount_overflow")
    }

    @Test func linkRequestWithAnExtremeExpiryIsRejected() {
        #expect(
            Self.code(
                Self.decide(Self.state([]), .requestLink(UserID(5), expiresAt: Timestamp(milliseconds: Int64.max))))
                == "invalid_expiry")
    }

    /// A tick leaves out a person whose balance would pass Int64 and credits everyone else.
    @Test func tickSkipsOnlyThePersonWhoseCountersWouldOverflow() {
        var s = Self.state([
            .streamWentLive, .chatterSeen(KickUserID(1), username: "one"),
            .chatterSeen(KickUserID(2), username: "two"),
            .pointsAdjusted(.kick(KickUserID(1)), delta: Int64.max, reason: "r", by: .unknown),
        ])
        s.apply(
            .watchTimeAccrued(credited: [.kick(KickUserID(1)), .kick(KickUserID(2))], minutes: 4), sequence: 10,
            timestamp: Timestamp(milliseconds: Self.now.rawValue - 60_000))
        guard case .accepted(let events) = Self.decide(s, .tick) else {
            Issue.record("the tick was refused")
            return
        }
        guard case .watchTimeAccrued(let credited, _) = events.first else {
            Issue.record("no watch time in \(events)")
            return
        }
        #expect(credited == [.kick(KickUserID(2))])
        #expect(events.contains { if case .pointsEarned(.kick(KickUserID(2)), _, _, _) = $0 { true } else { false } })
    }

    /// Text limits count UTF-8 bytes: a reason of 150 four-byte emoji is cut to 200 bytes, at a
    /// character boundary (cutting at 200 characters kept 600 bytes).
    @Test func truncatedTextsAreBoundedInBytes() {
        let order = Order(
            id: OrderID(1), item: ItemID(1), person: Self.alice, price: 10, tickets: 0, period: nil, requirement: "",
            status: .pending)
        let s = Self.state([
            .shopItemCreated(ShopItem(id: ItemID(1), name: "Shoutout", price: 10)),
            .pointsAdjusted(Self.alice, delta: 10, reason: "r", by: .unknown), .itemPurchased(order),
        ])
        // 150 four-byte emoji are 600 bytes: over the 200-byte limit, refused (counting characters let it in).
        #expect(
            Self.code(Self.decide(s, .cancelOrder(OrderID(1), reason: String(repeating: "🎉", count: 150))))
                == "invalid_text")
        // 50 of them are exactly 200 bytes: accepted, kept whole.
        let reason = String(repeating: "🎉", count: 50)
        guard case .accepted(let events) = Self.decide(s, .cancelOrder(OrderID(1), reason: reason)),
            case .orderCancelled(_, _, _, let stored, _) = events.first
        else {
            Issue.record("the cancellation was refused")
            return
        }
        #expect(stored.utf8.count == 200 && stored == reason)
        #expect(GuildState.truncated("ab🎉", toBytes: 4) == "ab")
        #expect(GuildState.truncated("short", toBytes: 200) == "short")
    }
}
