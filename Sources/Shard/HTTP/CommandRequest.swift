package import Domain
package import EventLog

/// The JSON body of `POST /v1/guilds/{guild}/commands`: a `type`, an idempotency `key`, and the
/// command's fields in snake case (see `docs/openapi.yaml`). Snowflakes are strings, as Discord
/// sends them; amounts are integers.
package struct CommandRequest: Decodable, Sendable {
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

    enum CodingKeys: String, CodingKey {
        case type, key, setting, value, live, mode, username, name, minutes, position, enabled, granted, outcome, detail
        case person, amount, delta, reason, price, stock, requirement, source, excluded, winners, count
        case period, replaces, round, randomness, at
        case createdAt = "created_at", gifteeKickUserIds = "giftee_kick_user_ids"
        case kickUserId = "kick_user_id", roleId = "role_id", userId = "user_id", expiresAt = "expires_at"
        case itemId = "item_id", perPersonLimit = "per_person_limit", limitWindowSeconds = "limit_window_seconds"
        case requirementPrompt = "requirement_prompt", raffleTickets = "raffle_tickets", orderId = "order_id"
        case startsAt = "starts_at", endsAt = "ends_at", gifterKickUserId = "gifter_kick_user_id"
        case kickUsername = "kick_username"
        case broadcasterUserId = "broadcaster_user_id", slug
    }

    /// Decodes the body; `null` is refused for every field but `value` (where it clears a setting),
    /// so that a field is either present with a value of its type or left out. Only the keys present
    /// are visited (a command names a handful of the fifty fields): asking for each of the fifty was
    /// most of a batch's decoding time.
    package init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func field<T: Decodable>(_ key: CodingKeys) throws -> T? {
            if try c.decodeNil(forKey: key) {
                throw DecodingError.valueNotFound(
                    T.self,
                    .init(
                        codingPath: c.codingPath + [key], debugDescription: "\(key.stringValue) is null; leave it out"))
            }
            return try c.decode(T.self, forKey: key)
        }
        var type: String?
        var key: String?
        for k in c.allKeys {
            switch k {
            case .type: type = try c.decode(String.self, forKey: k)
            case .key: key = try c.decode(String.self, forKey: k)
            case .setting: setting = try field(k)
            case .value: value = try c.decodeIfPresent(Int64.self, forKey: k)
            case .live: live = try field(k)
            case .mode: mode = try field(k)
            case .kickUserId: kickUserId = try field(k)
            case .username: username = try field(k)
            case .roleId: roleId = try field(k)
            case .userId: userId = try field(k)
            case .name: name = try field(k)
            case .minutes: minutes = try field(k)
            case .position: position = try field(k)
            case .enabled: enabled = try field(k)
            case .granted: granted = try field(k)
            case .outcome: outcome = try field(k)
            case .detail: detail = try field(k)
            case .person: person = try field(k)
            case .amount: amount = try field(k)
            case .delta: delta = try field(k)
            case .reason: reason = try field(k)
            case .expiresAt: expiresAt = try field(k)
            case .itemId: itemId = try field(k)
            case .price: price = try field(k)
            case .stock: stock = try field(k)
            case .perPersonLimit: perPersonLimit = try field(k)
            case .limitWindowSeconds: limitWindowSeconds = try field(k)
            case .requirementPrompt: requirementPrompt = try field(k)
            case .raffleTickets: raffleTickets = try field(k)
            case .requirement: requirement = try field(k)
            case .orderId: orderId = try field(k)
            case .startsAt: startsAt = try field(k)
            case .endsAt: endsAt = try field(k)
            case .source: source = try field(k)
            case .excluded: excluded = try field(k)
            case .winners: winners = try field(k)
            case .gifterKickUserId: gifterKickUserId = try field(k)
            case .count: count = try field(k)
            case .kickUsername: kickUsername = try field(k)
            case .broadcasterUserId: broadcasterUserId = try field(k)
            case .slug: slug = try field(k)
            case .period: period = try field(k)
            case .replaces: replaces = try field(k)
            case .round: round = try field(k)
            case .randomness: randomness = try field(k)
            case .at: at = try field(k)
            case .createdAt: createdAt = try field(k)
            case .gifteeKickUserIds: gifteeKickUserIds = try field(k)
            }
        }
        guard let type else {
            throw DecodingError.keyNotFound(
                CodingKeys.type, .init(codingPath: c.codingPath, debugDescription: "no value for type"))
        }
        guard let key else {
            throw DecodingError.keyNotFound(
                CodingKeys.key, .init(codingPath: c.codingPath, debugDescription: "no value for key"))
        }
        self.type = type
        self.key = key
    }

    /// Whether the command needs the guild's raffle seeds (which only the node derives).
    package var needsRaffleSeeds: Bool { ["open_raffle_period", "close_raffle_period"].contains(type) }

    /// Every command type the API takes.
    static let types = [
        "set_setting", "set_stream_status", "override_tracking", "record_chat_activity", "tick", "set_role_threshold",
        "remove_role_threshold", "record_role_delivery", "spend_points", "adjust_points", "record_subscription",
        "create_shop_item", "edit_shop_item", "restock_shop_item", "deactivate_shop_item", "purchase", "fulfil_order",
        "cancel_order", "reset_purchase_limit", "open_raffle_period", "close_raffle_period", "grant_tickets",
        "remove_tickets", "set_raffle_exclusion", "draw_raffle", "reroll_raffle", "record_beacon", "record_gifted_subs",
        "request_link", "confirm_link", "reject_link", "unlink", "connect_kick_channel", "subscribe_kick_events",
    ]

    /// The domain command, given the time and the raffle seeds the server derives.
    package func command(now: Timestamp, seeds: RaffleSeeds) throws -> Command {
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
            guard let value = DrandHTTPBeacon.bytes(hex: hex) else {
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
        default:
            throw APIError(
                .unknownCommand, "no command type \(type); known: \(CommandRequest.types.joined(separator: ", "))")
        }
    }
}

/// Discord snowflakes as the API accepts them.
enum Snowflake {
    /// 1 to 19 decimal digits without a leading zero (every snowflake Discord will issue for
    /// centuries fits; `docs/openapi.yaml` states the same pattern).
    static func parse(_ text: String) -> UInt64? {
        guard (1...19).contains(text.utf8.count), text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
            text.utf8.first != 0x30, let v = UInt64(text)
        else { return nil }
        return v
    }
}
