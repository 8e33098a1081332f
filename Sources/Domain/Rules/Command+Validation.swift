extension Command {
    /// Checks the command's own fields — ranges, text limits, shapes — without looking at any state.
    ///
    /// ``GuildState/decide(_:context:)`` runs this before it looks the idempotency key up, so a
    /// malformed command is refused (400) even under a key seen before, and the rules that follow
    /// see only well-formed fields. What depends on the guild's state or on the clock is the rules'.
    func validateFields() throws {
        switch self {
        case .setSetting(let key, let value):
            guard SettingKey.allCases.contains(key) else {
                throw Rejection(.unknownSetting, "no setting \(key.rawValue)")
            }
            if let value, !key.validRange.contains(value) {
                throw Rejection(.invalidValue, "\(key) must be within \(key.validRange), not \(value)")
            }
        case .recordChatActivity(_, let username):
            try Command.validateText(username, "username", max: 64)
        case .setRoleThreshold(let t):
            try Command.validateText(t.name, "role name", max: 100)
            guard t.minutes >= 0, t.minutes <= GuildState.maxAmount else {
                throw Rejection(.invalidAmount, "minutes are 0 to \(GuildState.maxAmount), not \(t.minutes)")
            }
        case .spendPoints(_, let amount, let reason), .grantTickets(_, let amount, let reason),
            .removeTickets(_, let amount, _, let reason):
            try Command.validateAmount(amount)
            try Command.validateText(reason, "reason", max: 200)
        case .adjustPoints(_, let delta, let reason):
            guard delta != 0, delta.magnitude <= GuildState.maxAmount.magnitude else {
                throw Rejection(.invalidAmount, "an adjustment is between 1 and \(GuildState.maxAmount) in size")
            }
            try Command.validateText(reason, "reason", max: 200)
        case .createShopItem(let item), .editShopItem(let item):
            try Command.validateItem(item)
        case .restockShopItem(_, let stock):
            guard stock >= -1, stock <= GuildState.maxAmount else {
                throw Rejection(.invalidAmount, "stock is -1 (unlimited) to \(GuildState.maxAmount), not \(stock)")
            }
        case .cancelOrder(_, let reason), .rerollRaffle(_, _, let reason):
            try Command.validateText(reason, "reason", max: 200)
        case .drawRaffle(_, let winners, _):
            guard (1...10).contains(winners) else {
                throw Rejection(.invalidAmount, "draw 1 to 10 winners at a time")
            }
        case .recordBeacon(_, _, let value):
            guard value.count == 32 else { throw Rejection(.invalidBeacon, "a drand randomness value is 32 bytes") }
        case .recordGiftedSubs(_, _, let count, let giftees, _):
            guard count >= 1, count <= 10_000 else {
                throw Rejection(.invalidAmount, "gift count must be 1 to 10000")
            }
            guard giftees.isEmpty || giftees.count == count else {
                throw Rejection(
                    .invalidAmount, "the gift count is the number of giftees (\(giftees.count)), not \(count)")
            }
        case .purchase(_, _, let requirement):
            // Whether an answer is needed depends on the item (the rules check that); its size does not.
            guard requirement.utf8.count <= 500 else {
                throw Rejection(.invalidText, "an answer to a requirement prompt is at most 500 bytes")
            }
        case .confirmLink(_, _, let username):
            try Command.validateText(username, "Kick username", max: 64)
        case .connectKickChannel(let channel):
            guard channel.broadcaster.rawValue > 0 else {
                throw Rejection(.invalidAmount, "the broadcaster is a Kick user id above 0")
            }
            guard !channel.slug.isEmpty, channel.slug.utf8.count <= 64,
                channel.slug.utf8.allSatisfy({
                    $0 == 0x2D || $0 == 0x5F || ($0 | 0x20) >= 0x61 && ($0 | 0x20) <= 0x7A || $0 >= 0x30 && $0 <= 0x39
                })
            else { throw Rejection(.invalidText, "a channel slug is 1 to 64 letters, digits, - and _") }
        default:
            break
        }
    }

    static func validateItem(_ item: ShopItem) throws {
        try validateText(item.name, "item name", max: 100)
        try validateAmount(item.price)
        guard item.stock >= -1, item.perPersonLimit >= -1, item.limitWindowSeconds >= 0,
            item.stock <= GuildState.maxAmount, item.perPersonLimit <= GuildState.maxAmount,
            item.limitWindowSeconds <= GuildState.maxAmount
        else {
            throw Rejection(
                .invalidItem,
                "stock and limit are -1 (unlimited) to \(GuildState.maxAmount); the window is 0 (all time) to \(GuildState.maxAmount) seconds"
            )
        }
        guard item.requirementPrompt.utf8.count <= 200 else {
            throw Rejection(.invalidItem, "the requirement prompt is too long")
        }
        if case .raffleTickets(let n) = item.kind { try validateAmount(n) }
    }

    static func validateAmount(_ amount: Int64) throws {
        guard amount > 0, amount <= GuildState.maxAmount else {
            throw Rejection(.invalidAmount, "amounts are between 1 and \(GuildState.maxAmount), not \(amount)")
        }
    }

    /// Text limits count UTF-8 bytes, as stored, not characters.
    static func validateText(_ text: String, _ what: String, max: Int) throws {
        guard !text.isEmpty, text.utf8.count <= max else {
            throw Rejection(.invalidText, "\(what) must be 1 to \(max) bytes")
        }
    }
}
