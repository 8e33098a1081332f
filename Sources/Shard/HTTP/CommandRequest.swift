package import Domain
package import EventLog

/// The JSON body of `POST /v1/guilds/{guild}/commands`: a `type`, an idempotency `key`, and the
/// command's fields in snake case (see `docs/openapi.yaml`). Snowflakes are strings, as Discord
/// sends them; amounts are integers. Read from JSON by `CommandRequest+JSON.swift`.
package struct CommandRequest: Equatable, Sendable {
    package var type: String
    package var key: String
    var setting: String?
    var value: Int64?
    var live: Bool?
    var mode: String?
    var kickUserId: UInt64?
    var username: String?
    var roleId: String?
    var userId: String?
    var name: String?
    var minutes: Int64?
    var position: Int32?
    var enabled: Bool?
    var granted: Bool?
    var outcome: String?
    var detail: String?
    var person: String?
    var amount: Int64?
    var delta: Int64?
    var reason: String?
    var expiresAt: Int64?
    var itemId: UInt32?
    var price: Int64?
    var stock: Int64?
    var perPersonLimit: Int64?
    var limitWindowSeconds: Int64?
    var requirementPrompt: String?
    var raffleTickets: Int64?
    var requirement: String?
    var orderId: UInt64?
    var startsAt: Int64?
    var endsAt: Int64?
    var source: String?
    var excluded: Bool?
    var winners: Int?
    var gifterKickUserId: UInt64?
    var count: Int64?
    var kickUsername: String?
    var broadcasterUserId: UInt64?
    var slug: String?
    var period: UInt32?
    var replaces: UInt32?
    var round: UInt64?
    var randomness: String?
    var at: Int64?
    var createdAt: Int64?
    var gifteeKickUserIds: [UInt64]?
    var slot: String?
    var number: UInt32?
    var blocked: Bool?
    var result: String?
    var template: String?
    var cooldownSeconds: Int64?
    var text: String?
    var intervalMinutes: Int64?
    var id: UInt32?

    /// Whether the command needs the guild's raffle seeds (which only the node derives).
    package var needsRaffleSeeds: Bool { ["open_raffle_period", "close_raffle_period"].contains(type) }

    /// Whether the command needs the guild's slot-request seeds (which only the node derives).
    package var needsSlotSeeds: Bool { ["open_slot_queue", "close_slot_queue", "pick_slot"].contains(type) }

    /// Every command type the API takes.
    static let types = [
        "set_setting", "set_stream_status", "override_tracking", "record_chat_activity", "tick", "set_role_threshold",
        "remove_role_threshold", "record_role_delivery", "spend_points", "adjust_points", "record_subscription",
        "create_shop_item", "edit_shop_item", "restock_shop_item", "deactivate_shop_item", "purchase", "fulfil_order",
        "cancel_order", "reset_purchase_limit", "open_raffle_period", "close_raffle_period", "grant_tickets",
        "remove_tickets", "set_raffle_exclusion", "draw_raffle", "reroll_raffle", "record_beacon", "record_gifted_subs",
        "request_link", "confirm_link", "reject_link", "unlink", "connect_kick_channel", "subscribe_kick_events",
        "open_slot_queue", "close_slot_queue", "pick_slot", "skip_slot_request", "clear_slot_queue",
        "set_slot_blacklist", "open_guess", "close_guess", "resolve_guess", "save_custom_command",
        "delete_custom_command", "save_timed_message", "delete_timed_message",
    ]

    /// The domain command, given the time and the raffle and slot-request seeds the server derives.
    package func command(now: Timestamp, seeds: RaffleSeeds, slotSeeds: RaffleSeeds = .none) throws -> Command {
        func need<T>(_ v: T?, _ field: String) throws -> T {
            guard let v else { throw APIError(.missingField, "\(type) needs the field \(field)") }
            return v
        }
        func snowflake(_ text: String?, _ field: String) throws -> UInt64 {
            let text = try need(text, field)
            guard let v = Snowflake.parse(text) else {
                throw APIError(
                    .invalidSnowflake, "\(field) must be a Discord snowflake (a string of digits), not \(text)")
            }
            return v
        }
        func personID() throws -> PersonID { try ShardAPI.person(try need(person, "person")) }
        func item(id: ItemID) throws -> ShopItem {
            ShopItem(
                id: id, name: try need(name, "name"), price: try need(price, "price"), stock: stock ?? -1,
                perPersonLimit: perPersonLimit ?? -1, limitWindowSeconds: limitWindowSeconds ?? 0,
                requirementPrompt: requirementPrompt ?? "", kind: raffleTickets.map { .raffleTickets($0) } ?? .standard)
        }
        switch type {
        case "set_setting":
            let name = try need(setting, "setting")
            guard let key = SettingKey(name: name) else {
                throw APIError(.unknownSetting, "no setting named \(name)")
            }
            return .setSetting(key, value)
        case "set_stream_status":
            return .setStreamStatus(live: try need(live, "live"), at: at.map(Timestamp.init(milliseconds:)))
        case "override_tracking":
            let modes = ["automatic": TrackingMode.automatic, "forced_on": .forcedOn, "forced_off": .forcedOff]
            guard let m = modes[try need(mode, "mode")] else {
                throw APIError(.invalidValue, "mode is automatic, forced_on or forced_off")
            }
            return .overrideTracking(m)
        case "record_chat_activity":
            return .recordChatActivity(
                KickUserID(try need(kickUserId, "kick_user_id")), username: try need(username, "username"))
        case "tick": return .tick
        case "set_role_threshold":
            return .setRoleThreshold(
                RoleThreshold(
                    role: RoleID(try snowflake(roleId, "role_id")), name: try need(name, "name"),
                    minutes: try need(minutes, "minutes"),
                    position: position ?? 0, enabled: enabled ?? true))
        case "remove_role_threshold": return .removeRoleThreshold(RoleID(try snowflake(roleId, "role_id")))
        case "record_role_delivery":
            let outcomes = ["delivered": DeliveryOutcome.delivered, "failed_permanently": .failedPermanently]
            guard let o = outcomes[try need(outcome, "outcome")] else {
                throw APIError(.invalidValue, "outcome is delivered or failed_permanently")
            }
            return .recordRoleDelivery(
                UserID(try snowflake(userId, "user_id")), RoleID(try snowflake(roleId, "role_id")),
                granted: try need(granted, "granted"), outcome: o, detail: detail ?? "")
        case "spend_points":
            return .spendPoints(try personID(), amount: try need(amount, "amount"), reason: try need(reason, "reason"))
        case "adjust_points":
            return .adjustPoints(try personID(), delta: try need(delta, "delta"), reason: try need(reason, "reason"))
        case "record_subscription":
            return .recordSubscription(
                KickUserID(try need(kickUserId, "kick_user_id")),
                expiresAt: Timestamp(milliseconds: try need(expiresAt, "expires_at")),
                createdAt: createdAt.map(Timestamp.init(milliseconds:)))
        case "create_shop_item": return .createShopItem(try item(id: ItemID(itemId ?? 0)))
        case "edit_shop_item": return .editShopItem(try item(id: ItemID(try need(itemId, "item_id"))))
        case "restock_shop_item":
            return .restockShopItem(ItemID(try need(itemId, "item_id")), stock: try need(stock, "stock"))
        case "deactivate_shop_item": return .deactivateShopItem(ItemID(try need(itemId, "item_id")))
        case "purchase":
            return .purchase(ItemID(try need(itemId, "item_id")), try personID(), requirement: requirement ?? "")
        case "fulfil_order": return .fulfilOrder(OrderID(try need(orderId, "order_id")))
        case "cancel_order":
            return .cancelOrder(OrderID(try need(orderId, "order_id")), reason: try need(reason, "reason"))
        case "reset_purchase_limit":
            return .resetPurchaseLimit(
                ItemID(try need(itemId, "item_id")), person: person == nil ? nil : try personID())
        case "open_raffle_period":
            return .openRafflePeriod(
                startsAt: startsAt.map(Timestamp.init(milliseconds:)),
                endsAt: endsAt.map(Timestamp.init(milliseconds:)),
                seedCommitment: RaffleDrawing.commitment(for: seeds.next))
        case "close_raffle_period": return .closeRafflePeriod(seed: seeds.current)
        case "grant_tickets":
            return .grantTickets(try personID(), amount: try need(amount, "amount"), reason: try need(reason, "reason"))
        case "remove_tickets":
            let s = try source.map { name -> TicketSource in
                guard let s = TicketSource(name: name) else {
                    throw APIError(.invalidValue, "source is watchtime, gifted_sub, shop or admin")
                }
                return s
            }
            return .removeTickets(
                try personID(), amount: try need(amount, "amount"), source: s, reason: try need(reason, "reason"))
        case "set_raffle_exclusion":
            return .setRaffleExclusion(try personID(), excluded: try need(excluded, "excluded"))
        case "draw_raffle":
            // The close revealed the period's seed into the log; the draw uses it from there.
            return .drawRaffle(seed: nil, winners: winners ?? 1, period: period.map(PeriodID.init(rawValue:)))
        case "reroll_raffle":
            return .rerollRaffle(
                period: period.map(PeriodID.init(rawValue:)), replaces: try need(replaces, "replaces"),
                reason: try need(reason, "reason"))
        case "record_beacon":
            let hex = try need(randomness, "randomness")
            guard let value = Hex.decode(hex) else {
                throw APIError(.invalidValue, "randomness is the round's value in hex (64 digits)")
            }
            return .recordBeacon(
                period: period.map(PeriodID.init(rawValue:)), round: try need(round, "round"), value: value)
        case "record_gifted_subs":
            return .recordGiftedSubs(
                gifter: gifterKickUserId.map(KickUserID.init(rawValue:)), username: username ?? "",
                count: try count ?? gifteeKickUserIds.map { Int64($0.count) } ?? need(count, "count"),
                giftees: (gifteeKickUserIds ?? []).map(KickUserID.init(rawValue:)),
                createdAt: createdAt.map(Timestamp.init(milliseconds:)))
        case "request_link":
            return .requestLink(
                UserID(try snowflake(userId, "user_id")),
                expiresAt: Timestamp(milliseconds: expiresAt ?? now.rawValue + 600_000))
        case "confirm_link":
            return .confirmLink(
                UserID(try snowflake(userId, "user_id")), KickUserID(try need(kickUserId, "kick_user_id")),
                kickUsername: try need(kickUsername, "kick_username"))
        case "reject_link":
            return .rejectLink(
                UserID(try snowflake(userId, "user_id")), KickUserID(try need(kickUserId, "kick_user_id")),
                reason: try need(reason, "reason"))
        case "unlink": return .unlink(UserID(try snowflake(userId, "user_id")))
        case "connect_kick_channel":
            return .connectKickChannel(
                KickChannel(
                    broadcaster: KickUserID(try need(broadcasterUserId, "broadcaster_user_id")),
                    slug: try need(slug, "slug")))
        case "subscribe_kick_events": return .subscribeKickEvents
        case "open_slot_queue": return .game(.openSlotQueue(commitment: SlotPicking.commitment(for: slotSeeds.next)))
        case "close_slot_queue": return .game(.closeSlotQueue(seed: slotSeeds.current))
        case "pick_slot": return .game(.pickSlot(seed: slotSeeds.current))
        case "skip_slot_request": return .game(.skipSlotRequest(number: try need(number, "number")))
        case "clear_slot_queue": return .game(.clearSlotQueue)
        case "set_slot_blacklist":
            return .game(.setSlotBlacklist(slot: try need(slot, "slot"), blocked: blocked ?? true))
        case "open_guess": return .game(.openGuess)
        case "close_guess": return .game(.closeGuess)
        case "resolve_guess": return .game(.resolveGuess(result: try need(result, "result"), winners: winners))
        case "save_custom_command":
            return .game(
                .saveCustomCommand(
                    CustomCommand(
                        name: try need(name, "name"), template: try need(template, "template"),
                        cooldownSeconds: cooldownSeconds ?? 0)))
        case "delete_custom_command": return .game(.deleteCustomCommand(name: try need(name, "name")))
        case "save_timed_message":
            return .game(
                .saveTimedMessage(
                    TimedMessage(
                        id: id ?? 0, text: try need(text, "text"),
                        intervalMinutes: try need(intervalMinutes, "interval_minutes"))))
        case "delete_timed_message": return .game(.deleteTimedMessage(id: try need(id, "id")))
        default:
            throw APIError(
                .unknownCommand, "no command type \(type); known: \(CommandRequest.types.joined(separator: ", "))")
        }
    }
}

/// Discord snowflakes as the API accepts them.
package enum Snowflake {
    /// 1 to 19 decimal digits without a leading zero (every snowflake Discord will issue for
    /// centuries fits; `docs/openapi.yaml` states the same pattern).
    package static func parse(_ text: String) -> UInt64? {
        guard (1...19).contains(text.utf8.count), text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
            text.utf8.first != 0x30, let v = UInt64(text)
        else { return nil }
        return v
    }
}
