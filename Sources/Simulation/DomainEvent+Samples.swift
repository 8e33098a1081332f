public import Domain
import EventLog

extension DomainEvent {
    /// One example of every event type, with every field set: the golden-file tests encode these and
    /// compare with the checked-in bytes, and the codec tests check every type has a name and a tag.
    public static let samples: [DomainEvent] = {
        let alice = PersonID.discord(UserID(1_095_300_612_093_640_704))
        let chatter = PersonID.kick(KickUserID(4_242_001))
        let item = ShopItem(
            id: ItemID(3), name: "VIP ticket bundle", price: 250, stock: 40, perPersonLimit: 2,
            limitWindowSeconds: 86_400,
            requirementPrompt: "Your Kick name?", kind: .raffleTickets(5), active: true)
        let seed = Array(0..<32).map { UInt8($0 * 7 % 256) }
        func tickets(_ w: Int64, _ g: Int64, _ s: Int64, _ a: Int64) -> TicketCounts {
            var t = TicketCounts()
            (t[0], t[1], t[2], t[3]) = (w, g, s, a)
            return t
        }
        return [
            .settingChanged(.pointsPer5Min, 3),
            .settingCleared(.giftedSubTickets),
            .streamWentLive,
            .streamWentOffline,
            .trackingOverridden(.forcedOn),
            .chatterSeen(KickUserID(4_242_001), username: "mizuro"),
            .watchTimeAccrued(credited: [alice, chatter], minutes: 1),
            .roleThresholdSet(
                RoleThreshold(role: RoleID(1_100_000_000_000_000_001), name: "Tier 1", minutes: 120, position: 1)),
            .roleThresholdRemoved(RoleID(1_100_000_000_000_000_001)),
            .roleGrantRequested(UserID(1_095_300_612_093_640_704), RoleID(1_100_000_000_000_000_001)),
            .roleRevokeRequested(UserID(1_095_300_612_093_640_704), RoleID(1_100_000_000_000_000_001)),
            .roleDeliveryRecorded(
                UserID(1_095_300_612_093_640_704), RoleID(1_100_000_000_000_000_001), granted: true,
                outcome: .failedPermanently, detail: "50013 missing permissions"),
            .pointsEarned(alice, points: 2, minutesConverted: 5, subscriber: true),
            .pointsSpent(alice, amount: 120, reason: "song request"),
            .pointsRefunded(alice, amount: 250, order: OrderID(17)),
            .pointsAdjusted(chatter, delta: -40, reason: "chargeback", by: UserID(1_000_000_000_000_000_099)),
            .subscriptionRecorded(
                KickUserID(4_242_001), expiresAt: Timestamp(milliseconds: 1_798_761_600_000),
                createdAt: Timestamp(milliseconds: 1_796_169_600_000)),
            .shopItemCreated(item),
            .shopItemEdited(item),
            .shopItemRestocked(ItemID(3), stock: 100),
            .shopItemDeactivated(ItemID(3)),
            .itemPurchased(
                Order(
                    id: OrderID(17), item: ItemID(3), person: alice, price: 250, tickets: 5, period: PeriodID(2),
                    requirement: "mizuro", status: .completed)),
            .orderFulfilled(OrderID(17), by: UserID(1_000_000_000_000_000_099)),
            .orderCancelled(
                OrderID(17), refund: 250, by: UserID(1_000_000_000_000_000_099), reason: "out of stock", refundTo: alice
            ),
            .purchaseLimitReset(ItemID(3), person: alice),
            .rafflePeriodOpened(
                RafflePeriod(
                    id: PeriodID(2), startsAt: Timestamp(milliseconds: 1_796_083_200_000),
                    endsAt: Timestamp(milliseconds: 1_798_761_600_000),
                    seedCommitment: Array(repeating: 0xAB, count: 32), beaconRound: 5_784_497)),
            .rafflePeriodClosed(
                PeriodID(2),
                table: RaffleTable(entries: [
                    RaffleTable.Entry(person: alice, tickets: tickets(40, 15, 10, 5), excluded: false),
                    RaffleTable.Entry(person: chatter, tickets: tickets(0, 30, 0, 0), excluded: true),
                ]), beaconRound: 5_784_497),
            .ticketsGranted(alice, amount: 15, source: .giftedSub, reason: "1 gifted sub"),
            .ticketsRemoved(alice, amount: 15, source: .giftedSub, reason: "payment failed"),
            .raffleExclusionChanged(chatter, excluded: true),
            .raffleWinnerDrawn(
                RaffleDraw(
                    period: PeriodID(2), number: 1, seed: seed, totalTickets: 1200, winningTicket: 731, winner: alice,
                    winnerTickets: 40, participants: 57, participantsDigest: Array(repeating: 0xCD, count: 32),
                    beaconRound: 5_784_497, beacon: Array(repeating: 0xEF, count: 32), replaces: 1,
                    reason: "winner did not answer within 48 h")),
            .raffleSeedRevealed(PeriodID(2), seed: seed),
            .giftedSubsRecorded(
                gifter: KickUserID(4_242_001), count: 2, giftees: [KickUserID(7_001), KickUserID(7_002)],
                createdAt: Timestamp(milliseconds: 1_796_169_600_000)),
            .linkRequested(UserID(1_095_300_612_093_640_704), expiresAt: Timestamp(milliseconds: 1_796_083_800_000)),
            .accountLinked(UserID(1_095_300_612_093_640_704), KickUserID(4_242_001), kickUsername: "mizuro"),
            .linkRejected(
                UserID(1_095_300_612_093_640_704), KickUserID(4_242_001), reason: "already linked to another user"),
            .accountUnlinked(UserID(1_095_300_612_093_640_704), by: UserID(1_000_000_000_000_000_099)),
            .platformUsernameChanged(KickUserID(4_242_001), from: "mizuro", to: "mizuro_tv"),
            .chatterEarningsMerged(
                KickUserID(4_242_001), into: UserID(1_095_300_612_093_640_704), minutes: 300, points: 60, tickets: 20),
            .kickChannelConnected(KickChannel(broadcaster: KickUserID(7_700_123), slug: "mizuro_live")),
            .chatCommandUsed(KickUserID(4_242_001), command: "points"),
            .deliveryRequested(
                Delivery(
                    id: DeliveryID(3),
                    destination: .kickChat(
                        broadcaster: KickUserID(7_700_123), content: "@mizuro you have 1,234 points.",
                        replyTo: "01JDZ3N9V2X8K7Q4W5E6R7T8Y9"),
                    requestedAt: Timestamp(milliseconds: 1_796_083_260_000))),
            .kickAuthorizationStarted(
                KickAuthorization(
                    state: "1234567890123456789.q8Jw5fX2mYbT0cVzR4uLkA", user: UserID(1_095_300_612_093_640_704),
                    verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
                    expiresAt: Timestamp(milliseconds: 1_796_083_800_000))),
            .kickAuthorizationFinished(state: "1234567890123456789.q8Jw5fX2mYbT0cVzR4uLkA"),
            .giftedSubsUnattributed(count: 5, reason: "an anonymous gifter cannot be credited"),
            .deliveryRecorded(
                DeliveryID(3), outcome: .failedPermanently, detail: "401 unauthorized: the bot token was revoked"),
            .streamStatusReported(live: true, at: Timestamp(milliseconds: 1_796_169_600_000)),
            .raffleBeaconRecorded(
                PeriodID(2), RaffleBeacon(round: 5_784_497, value: Array(0..<32).map { UInt8($0 * 11 % 256) })),
            .legacyPersonImported(
                LegacyPerson(
                    person: alice, kickName: "mizuro", minutes: 3000, unconvertedMinutes: 3, points: 950,
                    pointsEarned: 1200, pointsSpent: 250, periodMinutes: 120,
                    sources: [
                        LegacyRow("links", "1095300612093640704/111/kick"), LegacyRow("user_points", "42"),
                        LegacyRow("watchtime", "mizuro/111"),
                    ])),
            .legacyRecordImported(
                LegacyRow("point_settings", "points_per_5min/111"), .settingChanged(.pointsPer5Min, 2)),
            .legacyRoleThresholdImported(
                LegacyRoleThreshold(
                    name: "Tier 2", minutes: 600, position: 2, enabled: true, source: LegacyRow("watchtime_roles", "7"))
            ),
            .legacyOrderImported(
                LegacyOrder(
                    order: Order(
                        id: OrderID(5), item: ItemID(2), person: .kickName("eve"), price: 50, requirement: "Sandstorm",
                        status: .completed),
                    placedAt: Timestamp(milliseconds: 1_796_083_200_000), source: LegacyRow("point_sales", "23"))),
            .legacyPeriodImported(
                LegacyPeriod(
                    source: LegacyRow("raffle_periods", "1"), number: 1,
                    startsAt: Timestamp(milliseconds: 1_767_225_600_000),
                    endsAt: Timestamp(milliseconds: 1_769_904_000_000), totalTickets: 60,
                    seedCommitment: "0d9cbbb6c1c6ab3fe1f1d32cd8d1f7d1ab2e4a8e3b3f43c8d2a6a7b2e4d0e9b1",
                    draws: [
                        LegacyDraw(
                            source: LegacyRow("raffle_draws", "1"), winner: UserID(1_095_300_612_093_640_704),
                            winnerKickName: "mizuro", winningTicket: 8, totalTickets: 60, participants: 3,
                            serverSeed: "seed-one", clientSeed: "1:60:3", nonce: "1",
                            drawnAt: Timestamp(milliseconds: 1_769_904_300_000), verification: "verified")
                    ])),
            .kickNameResolved(name: "eve", KickUserID(4_242_077)),
        ]
    }()
}
