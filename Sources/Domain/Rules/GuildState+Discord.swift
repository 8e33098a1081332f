import EventLog

extension GuildState {
    /// `events` with the Discord deliveries they call for, each right after its cause: every role
    /// grant or removal becomes a role delivery (so the one outbox carries it out, in order per member),
    /// a raffle winner an announcement in the guild's announcement channel, and a pending shop order a
    /// notice in its staff channel (when those channels are set).
    func withDiscordDeliveries(_ events: [DomainEvent], at time: Timestamp) -> [DomainEvent] {
        var next = events.reduce(lastDelivery.rawValue) { last, event in
            if case .deliveryRequested(let delivery) = event { return max(last, delivery.id.rawValue) }
            return last
        }
        var out: [DomainEvent] = []
        out.reserveCapacity(events.count)
        func request(_ destination: Destination) {
            next += 1
            out.append(.deliveryRequested(Delivery(id: DeliveryID(next), destination: destination, requestedAt: time)))
        }
        let announcements = UInt64(clamping: settings[.raffleAnnouncementChannel])
        let staff = UInt64(clamping: settings[.staffChannel])
        for event in events {
            out.append(event)
            switch event {
            case .roleGrantRequested(let user, let role):
                request(.discordRole(user: user, role: role, grant: true))
            case .roleRevokeRequested(let user, let role):
                request(.discordRole(user: user, role: role, grant: false))
            case .raffleWinnerDrawn(let draw) where announcements != 0:
                let tickets = "\(GuildState.grouped(draw.winnerTickets)) of \(GuildState.grouped(draw.totalTickets))"
                let text =
                    "🎉 Raffle #\(draw.period), draw \(draw.number): the winner is \(mention(draw.winner)) with "
                    + "\(tickets) tickets. Anyone can verify the draw: the seed is revealed and its hash was "
                    + "published when the period opened."
                request(.discordMessage(channel: announcements, content: text))
            case .itemPurchased(let order) where staff != 0 && order.status == .pending:
                let item = items[order.item]?.name ?? "item \(order.item)"
                let asked = order.requirement.isEmpty ? "" : " They wrote: “\(order.requirement)”."
                let text =
                    "🛒 Order #\(order.id): \(mention(order.person)) bought \(item) for "
                    + "\(GuildState.grouped(order.price)) points.\(asked) Fulfil or cancel it with /orders."
                request(.discordMessage(channel: staff, content: GuildState.truncated(text, to: 1900)))
            default:
                break
            }
        }
        return out
    }

    /// How a message names a person: a Discord mention, or the Kick username.
    public func mention(_ person: PersonID) -> String {
        switch person {
        case .discord(let user): "<@\(user)>"
        case .kick(let chatter): chatters[chatter]?.username ?? "Kick user \(chatter.rawValue)"
        case .kickName(let name): name
        }
    }
}
