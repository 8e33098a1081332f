import Discord
import Domain
import EventLog
import Kick
import Projections

extension DiscordIngress {
    /// The command paths only admins may use.
    static let adminPaths: Set<[String]> = [
        ["points", "add"], ["points", "remove"], ["tickets", "grant"], ["tickets", "remove"], ["raffle", "open"],
        ["raffle", "close"], ["raffle", "draw"], ["raffle", "exclude"], ["shop", "create"], ["shop", "edit"],
        ["shop", "restock"], ["shop", "deactivate"], ["orders"], ["roles", "set"], ["roles", "remove"],
        ["roles", "list"], ["roles", "status"], ["settings", "get"], ["settings", "set"],
    ]

    /// What an unknown command path is answered (a test checks no registered path gets it).
    static let unknownCommand = "Tally does not know that command. An admin can register the current ones."

    /// Answers a slash command.
    func command(_ call: Call) async throws -> InteractionResponse {
        let (path, options) = call.interaction.commandPath
        let admin = Self.adminPaths.contains(path) || Self.gameAdminPaths.contains(path)
        if admin && !call.isAdmin {
            return .message("Only server admins (Manage Server, or the admin role) can use that.", ephemeral: true)
        }
        if call.state == nil && !admin { return .message(Self.notSetUp, ephemeral: true) }
        let state = call.state ?? GuildState(guild: call.guild)
        func user(_ name: String = "user") -> UserID {
            options[name].flatMap { UInt64($0.text) }.map { UserID($0) } ?? call.user
        }
        func int(_ name: String) -> Int64? {
            guard let value = options[name] else { return nil }
            if case .integer(let i) = value { return i }
            return Int64(value.text)
        }
        func text(_ name: String) -> String? { options[name]?.text }
        func required<T>(_ value: T?, _ name: String) throws -> T {
            guard let value else { throw Rejection(.invalidText, "the option \(name) is missing") }
            return value
        }

        switch path {
        case ["points", "view"]:
            let target = user()
            return .message(
                "\(Self.who(target, call)) \(GuildState.grouped(state.person(.discord(target)).points)) points.",
                ephemeral: true)
        case ["watchtime"]:
            let target = user()
            let minutes = state.person(.discord(target)).minutes
            return .message("\(Self.who(target, call)) watched \(minutes / 60) h \(minutes % 60) min.", ephemeral: true)
        case ["tickets", "view"]:
            let target = user()
            guard state.raffle.current != nil else { return .message("No raffle is open right now.", ephemeral: true) }
            return .message(
                "\(Self.who(target, call)) \(GuildState.grouped(state.person(.discord(target)).totalTickets)) "
                    + "tickets in this raffle.", ephemeral: true)
        case ["leaderboard"]:
            return .message(Self.leaderboard(state, board: text("board") ?? "points"))
        case ["raffle", "status"]:
            return .message(raffleStatus(state, call), ephemeral: true)
        case ["shop", "list"]:
            return .message(Self.shopList(state), ephemeral: true)
        case ["buy"]:
            return try buy(state, call, item: try required(int("item"), "item"), requirement: text("requirement") ?? "")
        case ["link"]:
            if let chatter = state.links[call.user] {
                let name = state.chatters[chatter]?.username ?? "a Kick account"
                return .message(
                    "You are already linked to \(name). Use /unlink first to link another.", ephemeral: true)
            }
            let token = LinkToken(
                guild: call.guild.rawValue, user: call.user.rawValue, expiresAt: call.time.rawValue + 900_000
            )
            .signed(key: linkKey)
            return .message(
                "Link your Kick account: the button opens Kick, and you come back linked. It works for 15 minutes.",
                ephemeral: true,
                buttons: [.link("Link with Kick", url: publicBaseURL + "/v1/link/start?token=" + token)])
        case ["unlink"]:
            guard state.links[call.user] != nil else {
                return .message("You have no Kick account linked.", ephemeral: true)
            }
            let outcome = try await call.handle(.unlink(call.user))
            return .message(outcome.duplicate ? "Already done." : "Your Kick account is unlinked.", ephemeral: true)

        case ["points", "add"], ["points", "remove"]:
            let amount = try required(int("amount"), "amount")
            let target = user()
            let outcome = try await call.handle(
                .adjustPoints(
                    .discord(target), delta: path[1] == "add" ? amount : -amount,
                    reason: try required(text("reason"), "reason")))
            let balance = try await balance(call, target)
            return .message(
                outcome.duplicate
                    ? "Already done."
                    : "\(path[1] == "add" ? "Added" : "Removed") \(GuildState.grouped(amount)) points: <@\(target)> "
                        + "now has \(GuildState.grouped(balance)).", ephemeral: true)
        case ["tickets", "grant"], ["tickets", "remove"]:
            let amount = try required(int("amount"), "amount")
            let reason = try required(text("reason"), "reason")
            let target = user()
            let command: Command =
                path[1] == "grant"
                ? .grantTickets(.discord(target), amount: amount, reason: reason)
                : .removeTickets(.discord(target), amount: amount, source: nil, reason: reason)
            let outcome = try await call.handle(command)
            return .message(
                outcome.duplicate
                    ? "Already done."
                    : "\(path[1] == "grant" ? "Granted" : "Removed") \(GuildState.grouped(amount)) tickets "
                        + "\(path[1] == "grant" ? "to" : "from") <@\(target)>.", ephemeral: true)
        case ["raffle", "open"]:
            let seeds = try await call.node.raffleSeeds(for: call.guild)
            let commitment = RaffleDrawing.commitment(for: seeds.next)
            let outcome = try await call.handle(
                .openRafflePeriod(startsAt: nil, endsAt: nil, seedCommitment: commitment))
            return .message(
                outcome.duplicate
                    ? "Already done."
                    : "The raffle is open. Its seed's SHA-256 commitment is `\(Hex.encode(commitment))`: the draw "
                        + "reveals the seed, and anyone can check it.")
        case ["raffle", "close"]:
            let seeds = try await call.node.raffleSeeds(for: call.guild)
            let outcome = try await call.handle(.closeRafflePeriod(seed: seeds.current))
            return .message(
                outcome.duplicate
                    ? "Already done." : "The raffle is closed. Its seed is `\(Hex.encode(seeds.current))`.")
        case ["raffle", "draw"]:
            let seeds = try await call.node.raffleSeeds(for: call.guild)
            let winners = Int(clamping: int("winners") ?? 1)
            let outcome = try await call.handle(.drawRaffle(seed: seeds.current, winners: winners))
            guard !outcome.duplicate else { return .message("Already done.", ephemeral: true) }
            let after = try await call.node.owner(for: call.guild).state(of: call.guild) ?? state
            let lines = outcome.events.compactMap { stored -> String? in
                guard case .raffleWinnerDrawn(let draw) = stored.event else { return nil }
                return "Draw \(draw.number): \(after.mention(draw.winner)) (\(GuildState.grouped(draw.winnerTickets)) "
                    + "of \(GuildState.grouped(draw.totalTickets)) tickets)"
            }
            return .message("🎉 " + lines.joined(separator: "\n"))
        case ["raffle", "exclude"]:
            let target = user()
            let excluded = options["excluded"] != .bool(false)
            _ = try await call.handle(.setRaffleExclusion(.discord(target), excluded: excluded))
            return .message(
                "<@\(target)> is \(excluded ? "excluded from" : "included in") the draws.", ephemeral: true)
        case ["shop", "create"]:
            let tickets = int("tickets")
            let item = ShopItem(
                id: ItemID(0), name: try required(text("name"), "name"), price: try required(int("price"), "price"),
                stock: int("stock") ?? -1, perPersonLimit: int("limit") ?? -1,
                requirementPrompt: text("requirement") ?? "", kind: tickets.map { .raffleTickets($0) } ?? .standard)
            let outcome = try await call.handle(.createShopItem(item))
            let created = outcome.events.compactMap { stored -> ShopItem? in
                if case .shopItemCreated(let item) = stored.event { return item }
                return nil
            }.first
            return .message(
                created.map { "Item \($0.id) created: \($0.name) for \(GuildState.grouped($0.price)) points." }
                    ?? "Already done.", ephemeral: true)
        case ["shop", "edit"]:
            let id = ItemID(UInt32(clamping: try required(int("item"), "item")))
            guard var item = state.items[id] else { throw Rejection(.unknownItem, "there is no item \(id)") }
            if let name = text("name") { item.name = name }
            if let price = int("price") { item.price = price }
            if let limit = int("limit") { item.perPersonLimit = limit }
            _ = try await call.handle(.editShopItem(item))
            return .message(
                "Item \(id) is now \(item.name) for \(GuildState.grouped(item.price)) points.", ephemeral: true)
        case ["shop", "restock"]:
            let id = ItemID(UInt32(clamping: try required(int("item"), "item")))
            let stock = try required(int("stock"), "stock")
            _ = try await call.handle(.restockShopItem(id, stock: stock))
            return .message(
                "Item \(id) stock: \(stock < 0 ? "unlimited" : GuildState.grouped(stock)).", ephemeral: true)
        case ["shop", "deactivate"]:
            let id = ItemID(UInt32(clamping: try required(int("item"), "item")))
            _ = try await call.handle(.deactivateShopItem(id))
            return .message("Item \(id) is no longer sold.", ephemeral: true)
        case ["orders"]:
            return Self.orders(state)
        case ["roles", "set"]:
            let role = RoleID(try required(text("role").flatMap { UInt64($0) }, "role"))
            let minutes = try required(int("minutes"), "minutes")
            // A role imported from the old bot by name, with these minutes, is the one being mapped.
            let imported = state.thresholds[role] == nil ? state.unmappedRoles.first { $0.minutes == minutes } : nil
            let position =
                state.thresholds[role]?.position ?? imported?.position ?? Int32(clamping: state.thresholds.count + 1)
            let name = imported?.name ?? "role \(role)"
            _ = try await call.handle(
                .setRoleThreshold(RoleThreshold(role: role, name: name, minutes: minutes, position: position)))
            return .message(
                "<@&\(role)> is given at \(minutes / 60) h \(minutes % 60) min of watch time.", ephemeral: true)
        case ["roles", "remove"]:
            let role = RoleID(try required(text("role").flatMap { UInt64($0) }, "role"))
            _ = try await call.handle(.removeRoleThreshold(role))
            return .message("<@&\(role)> is no longer a watch-time role.", ephemeral: true)
        case ["roles", "list"]:
            let rows = state.thresholds.values.sorted { ($0.position, $0.role) < ($1.position, $1.role) }.map {
                "<@&\($0.role)>: \($0.minutes / 60) h \($0.minutes % 60) min\($0.enabled ? "" : " (disabled)")"
            }
            return .message(
                rows.isEmpty ? "No watch-time roles yet: add one with /roles set." : rows.joined(separator: "\n"),
                ephemeral: true)
        case ["roles", "status"]:
            return .message(try await roleStatus(state, call), ephemeral: true)
        case ["settings", "get"]:
            let name = try required(text("name"), "name")
            guard let key = SettingKey(name: name) else { throw Rejection(.unknownSetting, Self.unknownSetting(name)) }
            return .message("\(key) = \(state.settings[key])", ephemeral: true)
        case ["settings", "set"]:
            let name = try required(text("name"), "name")
            guard let key = SettingKey(name: name) else { throw Rejection(.unknownSetting, Self.unknownSetting(name)) }
            let value: Int64?
            if let raw = text("value"), raw != "default" {
                guard let parsed = Int64(raw) else {
                    throw Rejection(.invalidValue, "\(name) takes a whole number, not \(raw)")
                }
                value = parsed
            } else {
                value = nil
            }
            _ = try await call.handle(.setSetting(key, value))
            return .message(value.map { "\(key) is now \($0)." } ?? "\(key) is back to its default.", ephemeral: true)
        default:
            return try await gameCommand(call, state, path, options) ?? .message(Self.unknownCommand, ephemeral: true)
        }
    }

    static func unknownSetting(_ name: String) -> String {
        "there is no setting \(name); the settings are "
            + SettingKey.allCases.map(\.description).joined(separator: ", ")
    }

    /// How a message names the user a read is about.
    static func who(_ target: UserID, _ call: Call) -> String { target == call.user ? "You have" : "<@\(target)> has" }

    func balance(_ call: Call, _ user: UserID) async throws -> Int64 {
        try await call.node.owner(for: call.guild).state(of: call.guild)?.person(.discord(user)).points ?? 0
    }

    static func leaderboard(_ state: GuildState, board: String) -> String {
        let limit = Int(clamping: state.settings[.leaderboardDefault])
        let value: (PersonState) -> Int64
        switch board {
        case "watchtime": value = { $0.minutes }
        case "tickets": value = { $0.excluded ? 0 : $0.totalTickets }
        default: value = { $0.points }
        }
        let top = state.people.map { ($0.key, value($0.value)) }.filter { $0.1 > 0 }
            .sorted { ($0.1, $1.0.description) > ($1.1, $0.0.description) }.prefix(max(1, limit))
        guard !top.isEmpty else { return "The \(board) leaderboard is empty." }
        return "Top \(board):\n"
            + top.enumerated().map { i, row in
                let amount = board == "watchtime" ? "\(row.1 / 60) h \(row.1 % 60) min" : GuildState.grouped(row.1)
                return "\(i + 1). \(state.mention(row.0)): \(amount)"
            }.joined(separator: "\n")
    }

    func raffleStatus(_ state: GuildState, _ call: Call) -> String {
        guard let period = state.raffle.current ?? state.raffle.periods[state.raffle.lastPeriod] else {
            return "There has been no raffle yet."
        }
        let open = state.raffle.current != nil
        var lines = [
            "Raffle #\(period.id) \(open ? "is open until" : "closed at") \(period.endsAt) "
                + "(commitment `\(Hex.encode(period.seedCommitment))`)."
        ]
        if open {
            let total = state.people.values.reduce(Int64(0)) { $0 &+ ($1.excluded ? 0 : $1.totalTickets) }
            let me = state.person(.discord(call.user))
            let mine = me.excluded ? 0 : me.totalTickets
            let chance = total > 0 ? (Double(mine) * 1000 / Double(total)).rounded() / 10 : 0
            lines.append(
                "You have \(GuildState.grouped(mine)) of \(GuildState.grouped(total)) tickets (\(chance)% chance).")
        }
        for draw in (state.raffle.history[period.id] ?? []).suffix(3) {
            lines.append(
                "Draw \(draw.number): \(state.mention(draw.winner)) — verify: \(publicBaseURL)/v1/guilds/\(call.guild)"
                    + "/raffle/draws/\(draw.period):\(draw.number)")
        }
        return lines.joined(separator: "\n")
    }

    static func shopList(_ state: GuildState) -> String {
        let items = state.items.values.filter(\.active).sorted { $0.id < $1.id }
        guard !items.isEmpty else { return "The shop is empty." }
        return items.map { item in
            var line = "#\(item.id) \(item.name): \(GuildState.grouped(item.price)) points"
            if item.stock >= 0 { line += ", \(GuildState.grouped(item.stock)) left" }
            if case .raffleTickets(let n) = item.kind { line += ", gives \(GuildState.grouped(n)) tickets" }
            if !item.requirementPrompt.isEmpty { line += " (asks: \(item.requirementPrompt))" }
            return line
        }.joined(separator: "\n") + "\nBuy with /buy item:<number>."
    }

    /// The longest requirement `/buy` carries in its confirm button.
    static let buttonRequirementLimit = 60

    /// `/buy`: checks what it can now and asks for confirmation with a button; the purchase itself is
    /// the button's (so nothing is bought by a typo).
    func buy(_ state: GuildState, _ call: Call, item number: Int64, requirement: String) throws -> InteractionResponse {
        let id = ItemID(UInt32(clamping: number))
        guard let item = state.items[id], item.active else {
            return .message("There is no item \(number) for sale. /shop list shows what is.", ephemeral: true)
        }
        let balance = state.person(.discord(call.user)).points
        guard balance >= item.price else {
            return .message(
                "You have \(GuildState.grouped(balance)) points; \(item.name) costs \(GuildState.grouped(item.price)).",
                ephemeral: true)
        }
        if !item.requirementPrompt.isEmpty && requirement.isEmpty {
            return .message(
                "\(item.name) asks: \(item.requirementPrompt). Add it as the requirement option.", ephemeral: true)
        }
        guard requirement.utf8.count <= Self.buttonRequirementLimit else {
            return .message("Keep the requirement under \(Self.buttonRequirementLimit) characters.", ephemeral: true)
        }
        return .message(
            "Buy \(item.name) for \(GuildState.grouped(item.price)) points? You have \(GuildState.grouped(balance)).",
            ephemeral: true,
            buttons: [
                .success("Buy", id: "buy:\(id):\(call.user):\(requirement)"), .danger("Cancel", id: "nobuy"),
            ])
    }

    static func orders(_ state: GuildState) -> InteractionResponse {
        let pending = state.orders.values.filter { $0.status == .pending }.sorted { $0.id < $1.id }
        guard !pending.isEmpty else { return .message("No orders are waiting.", ephemeral: true) }
        let shown = pending.prefix(10)
        let lines = shown.map { order in
            "#\(order.id) \(state.items[order.item]?.name ?? "item \(order.item)") for \(state.mention(order.person))"
                + (order.requirement.isEmpty ? "" : ": “\(order.requirement)”")
        }
        let more = pending.count > shown.count ? "\n… and \(pending.count - shown.count) more." : ""
        return .message(
            "Waiting orders:\n" + lines.joined(separator: "\n") + more, ephemeral: true,
            buttons: shown.flatMap {
                [
                    InteractionResponse.Button.success("Fulfil #\($0.id)", id: "order:fulfil:\($0.id)"),
                    .danger("Cancel #\($0.id)", id: "order:cancel:\($0.id)"),
                ]
            })
    }

    /// Role deliveries waiting, and the last ones Discord refused for good, with the reason (read from
    /// the guild's log).
    func roleStatus(_ state: GuildState, _ call: Call) async throws -> String {
        let waiting = state.deliveries.values.filter {
            if case .discordRole = $0.destination { true } else { false }
        }.count
        let history = try await call.node.history(for: call.guild)
        let guild = call.guild
        // A scan of the guild's history blocks: on the I/O pool, not a cooperative thread.
        let failures = try await BlockingIOPool.shared.run { () throws -> [(Destination, String)] in
            var requested: [DeliveryID: Destination] = [:]
            var failures: [(Destination, String)] = []
            try history.forEachEvent(guild: guild) { stored in
                switch stored.event {
                case .deliveryRequested(let delivery):
                    if case .discordRole = delivery.destination { requested[delivery.id] = delivery.destination }
                case .deliveryRecorded(let id, let outcome, let detail):
                    if let destination = requested.removeValue(forKey: id), outcome == .failedPermanently {
                        failures.append((destination, detail))
                        if failures.count > 10 { failures.removeFirst() }
                    }
                default: break
                }
            }
            return failures
        }
        var lines = ["\(waiting) role change\(waiting == 1 ? "" : "s") waiting to be delivered."]
        if failures.isEmpty {
            lines.append("No role change has failed.")
        } else {
            lines.append("Failed for good (fix, then /roles set again):")
            for (destination, detail) in failures {
                guard case .discordRole(let user, let role, let grant) = destination else { continue }
                lines.append("\(grant ? "grant" : "removal") of <@&\(role)> for <@\(user)>: \(detail.prefix(160))")
            }
        }
        return lines.joined(separator: "\n")
    }

    /// Answers a button.
    func component(_ call: Call) async throws -> InteractionResponse {
        let id = call.interaction.data?.customID ?? ""
        let parts = id.split(separator: ":", maxSplits: 3, omittingEmptySubsequences: false).map(String.init)
        switch parts.first {
        case "nobuy":
            return .update("Nothing bought.")
        case "buy" where parts.count == 4:
            guard let item = UInt32(parts[1]), let buyer = UInt64(parts[2]) else { break }
            guard buyer == call.user.rawValue else {
                return .message("That button is someone else's: use /buy yourself.", ephemeral: true)
            }
            // One purchase per confirmation message, however often its button is pressed.
            let key = "discord-buy:" + (call.interaction.message?.id ?? call.interaction.id)
            let outcome: PartitionOwner.Outcome
            do {
                outcome = try await call.node.handle(
                    .purchase(ItemID(item), .discord(call.user), requirement: parts[3]), guild: call.guild,
                    context: CommandContext(key: key, time: call.time, actor: call.user))
            } catch let rejection as Rejection where rejection.code == .insufficientPoints {
                let state = call.state ?? GuildState(guild: call.guild)
                let price = state.items[ItemID(item)]?.price ?? 0
                return .update(
                    "You have \(GuildState.grouped(state.person(.discord(call.user)).points)) points; this costs "
                        + "\(GuildState.grouped(price)).")
            }
            guard !outcome.duplicate else { return .update("Already bought.") }
            let order = outcome.events.compactMap { stored -> Order? in
                if case .itemPurchased(let order) = stored.event { return order }
                return nil
            }.first
            guard let order else { return .update("Already bought.") }
            let name = call.state?.items[order.item]?.name ?? "the item"
            return .update(
                order.status == .pending
                    ? "Bought \(name): order #\(order.id) is waiting for the staff."
                    : "Bought \(name): \(GuildState.grouped(order.tickets)) raffle tickets are yours.")
        case "order" where parts.count == 3:
            guard call.isAdmin else { return .message("Only server admins can do that.", ephemeral: true) }
            guard let number = UInt64(parts[2]) else { break }
            let order = OrderID(number)
            let outcome = try await call.handle(
                parts[1] == "fulfil" ? .fulfilOrder(order) : .cancelOrder(order, reason: "cancelled in Discord"))
            return .message(
                outcome.duplicate
                    ? "Already done."
                    : "Order #\(order) \(parts[1] == "fulfil" ? "fulfilled" : "cancelled and refunded").",
                ephemeral: true)
        default:
            break
        }
        return .message("That button no longer works.", ephemeral: true)
    }
}
