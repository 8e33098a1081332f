import EventLog
import Testing

@testable import Domain

/// Discord deliveries the rules request, through the real rules and codec.
@Suite struct DiscordRulesTests {
    static let alice = UserID(111_000_000_000_000_001)

    func roleDeliveries(_ events: [DomainEvent]) -> [(DeliveryID, UserID, RoleID, Bool)] {
        events.compactMap {
            if case .deliveryRequested(let d) = $0, case .discordRole(let user, let role, let grant) = d.destination {
                return (d.id, user, role, grant)
            }
            return nil
        }
    }

    func linked() -> Harness {
        var h = Harness()
        h.accept(.requestLink(Self.alice, expiresAt: Timestamp(milliseconds: h.clock + 600_000)))
        h.accept(.confirmLink(Self.alice, KickUserID(1), kickUsername: "chatter1"))
        return h
    }

    @Test func everyRoleChangeIsADiscordDeliveryRightAfterIt() {
        var h = linked()
        h.accept(.setSetting(.linkedRoleID, 555))
        h.accept(.setSetting(.roleRemovalEnabled, 1))
        let set = h.accept(.setRoleThreshold(RoleThreshold(role: RoleID(10), name: "Tier 1", minutes: 0, position: 1)))
        #expect(set.count == 3)
        #expect(set[1] == .roleGrantRequested(Self.alice, RoleID(10)))
        let grants = roleDeliveries(set)
        #expect(grants.count == 1 && grants[0].1 == Self.alice && grants[0].2 == RoleID(10) && grants[0].3)
        let removed = roleDeliveries(h.accept(.removeRoleThreshold(RoleID(10))))
        #expect(removed.count == 1 && !removed[0].3 && removed[0].0.rawValue == grants[0].0.rawValue + 1)
        #expect(h.state.deliveries.count == 2)
        // Recording the outcomes empties the role outbox as well.
        h.accept(.recordDelivery(grants[0].0, outcome: .delivered, detail: "204"))
        h.accept(.recordDelivery(removed[0].0, outcome: .failedPermanently, detail: "403 missing permissions"))
        #expect(h.state.deliveries.isEmpty && h.state.outbox.isEmpty)
        #expect(h.rebuilt() == h.state)
    }

    @Test func theLinkedRoleIsDeliveredWhenSomeoneLinks() {
        var h = Harness()
        h.accept(.setSetting(.linkedRoleID, 555))
        h.accept(.requestLink(Self.alice, expiresAt: Timestamp(milliseconds: h.clock + 600_000)))
        let events = h.accept(.confirmLink(Self.alice, KickUserID(1), kickUsername: "chatter1"))
        #expect(roleDeliveries(events).map(\.2) == [RoleID(555)])
    }

    @Test func aWinnerIsAnnouncedOnlyWhenTheGuildNamesAChannel() {
        var h = linked()
        h.accept(.openRafflePeriod(startsAt: nil, endsAt: nil, seedCommitment: Harness.commitment))
        h.accept(.grantTickets(.discord(Self.alice), amount: 5, reason: "x"))
        h.accept(.grantTickets(.discord(UserID(7)), amount: 5, reason: "x"))
        // Only a closed period whose beacon is out is drawn.
        h.accept(.closeRafflePeriod(seed: Harness.seed))
        let round = h.state.raffle.periods[PeriodID(1)]!.beaconRound
        h.clock = max(h.clock, DrandChain.mainnet.time(of: round)!.rawValue)
        h.accept(.recordBeacon(period: PeriodID(1), round: round, value: Harness.beacon))
        let quiet = h.accept(.drawRaffle(seed: nil, winners: 1))
        #expect(!quiet.contains { if case .deliveryRequested = $0 { true } else { false } })
        h.accept(.setSetting(.raffleAnnouncementChannel, 4242))
        let announced = h.accept(.drawRaffle(seed: nil, winners: 1))
        guard case .deliveryRequested(let d) = announced.last,
            case .discordMessage(let channel, let content) = d.destination
        else {
            Issue.record("no announcement: \(announced)")
            return
        }
        guard case .raffleWinnerDrawn(let second) = announced.first else {
            Issue.record("the second draw drew no winner: \(announced)")
            return
        }
        #expect(channel == 4242 && content.contains("the winner is <@\(second.winner.description.dropFirst(8))>"))
        #expect(h.rebuilt() == h.state)
    }

    @Test func aPendingOrderIsToldToTheStaffChannel() {
        var h = linked()
        h.accept(.setSetting(.staffChannel, 99))
        h.accept(.adjustPoints(.discord(Self.alice), delta: 100, reason: "x"))
        h.accept(
            .createShopItem(ShopItem(id: ItemID(0), name: "Shout-out", price: 60, requirementPrompt: "Your name?")))
        let events = h.accept(.purchase(ItemID(1), .discord(Self.alice), requirement: "Alice"))
        guard case .deliveryRequested(let d) = events.last, case .discordMessage(99, let content) = d.destination else {
            Issue.record("no staff notice: \(events)")
            return
        }
        #expect(content.contains("Order #1") && content.contains("Shout-out") && content.contains("Alice"))
    }

    @Test(arguments: [
        Destination.discordRole(user: UserID(1), role: RoleID(2), grant: true),
        .discordRole(user: UserID(.max), role: RoleID(.max), grant: false),
        .discordMessage(channel: 123, content: "🎉 hello"),
    ])
    func discordDestinationsRoundTripThroughTheCodec(destination: Destination) throws {
        let event = DomainEvent.deliveryRequested(
            Delivery(id: DeliveryID(9), destination: destination, requestedAt: Timestamp(milliseconds: 5)))
        let (tag, version, payload) = EventCodec.encode(event, key: "k")
        let decoded = try payload.withUnsafeBytes { try EventCodec.decode(type: tag, version: version, payload: $0) }
        #expect(decoded.event == event)
        for cut in 0..<payload.count {
            #expect(throws: EventCodec.DecodeError.self) {
                try Array(payload[..<cut]).withUnsafeBytes {
                    try EventCodec.decode(type: tag, version: version, payload: $0)
                }
            }
        }
    }
}
