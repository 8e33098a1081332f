import EventLog

extension GuildState {
    /// The longest Kick chat message (Kick's limit).
    public static let kickChatLimit = 500

    /// The rules of the Kick connection, chat commands and the outbox: the events each command
    /// produces, or why it is refused.
    func kickRules(_ command: Command, _ c: CommandContext) throws -> [DomainEvent] {
        switch command {
        case .connectKickChannel(let channel):
            guard kickChannel != channel else { return [] }
            return [
                .kickChannelConnected(channel),
                request(
                    .kickSubscriptions(broadcaster: channel.broadcaster, events: KickChannel.subscribedEvents),
                    at: c.time),
            ]

        case .answerChatCommand(let chatter, let username, let message, let messageID):
            guard let channel = kickChannel, let chat = ChatCommand(message: message),
                settings[.chatCommandsEnabled] & chat.bit != 0
            else { return [] }
            if let last = lastChatCommand[chatter],
                c.time.rawValue - last.rawValue < settings[.chatCommandCooldownSeconds] * 1000
            {
                return []
            }
            let reply = GuildState.truncated("@\(username) " + answer(chat, chatter), to: GuildState.kickChatLimit)
            return [
                .chatCommandUsed(chatter, command: chat.name),
                request(.kickChat(broadcaster: channel.broadcaster, content: reply, replyTo: messageID), at: c.time),
            ]

        case .recordDelivery(let id, let outcome, let detail):
            guard deliveries[id] != nil else {
                // Already recorded (a resent outcome) or never requested: nothing to change.
                guard id <= lastDelivery, id.rawValue > 0 else {
                    throw Rejection(.unknownDelivery, "no delivery \(id) was requested")
                }
                return []
            }
            return [.deliveryRecorded(id, outcome: outcome, detail: GuildState.truncated(detail, to: 500))]

        case .subscribeKickEvents:
            guard let channel = kickChannel else {
                throw Rejection(.notConnected, "the guild has no Kick channel connected")
            }
            return [
                request(
                    .kickSubscriptions(broadcaster: channel.broadcaster, events: KickChannel.subscribedEvents),
                    at: c.time)
            ]

        case .startKickAuthorization(let user, let state, let verifier, let expiresAt):
            guard (16...128).contains(state.utf8.count), (43...128).contains(verifier.utf8.count) else {
                throw Rejection(.invalidText, "a state is 16 to 128 bytes and a PKCE verifier 43 to 128")
            }
            guard expiresAt > c.time, expiresAt.rawValue - c.time.rawValue <= 600_000 else {
                throw Rejection(.invalidExpiry, "an authorization expires within 10 minutes")
            }
            guard kickAuthorizations[state] == nil else { throw Rejection(.invalidText, "that state is in use") }
            return [
                .linkRequested(user, expiresAt: expiresAt),
                .kickAuthorizationStarted(
                    KickAuthorization(state: state, user: user, verifier: verifier, expiresAt: expiresAt)),
            ]

        case .finishKickAuthorization(let state):
            guard let authorization = kickAuthorizations[state] else {
                throw Rejection(.unknownAuthorization, "this link was already used or never started; start again")
            }
            guard authorization.expiresAt > c.time else {
                throw Rejection(.authorizationExpired, "this link expired; start again")
            }
            return [.kickAuthorizationFinished(state: state)]

        default:
            preconditionFailure("not a Kick or outbox command: \(command)")
        }
    }

    /// A new delivery, numbered after the last.
    private func request(_ destination: Destination, at time: Timestamp) -> DomainEvent {
        .deliveryRequested(
            Delivery(id: DeliveryID(lastDelivery.rawValue + 1), destination: destination, requestedAt: time))
    }

    /// What a chat command answers, for the person behind `chatter`.
    private func answer(_ command: ChatCommand, _ chatter: KickUserID) -> String {
        let owner = owner(of: chatter)
        let me = person(owner)
        switch command {
        case .points:
            return "you have \(GuildState.grouped(me.points)) points."
        case .watchtime:
            return "you have watched \(me.minutes / 60)h \(me.minutes % 60)m."
        case .tickets:
            guard raffle.current != nil else { return "no raffle is open right now." }
            return "you have \(GuildState.grouped(me.totalTickets)) tickets in this raffle."
        case .raffle:
            guard let period = raffle.current else { return "no raffle is open right now." }
            let total = people.values.reduce(Int64(0)) { $0 &+ ($1.excluded ? 0 : $1.totalTickets) }
            let mine = me.excluded ? 0 : me.totalTickets
            let chance = total > 0 ? Double(mine) * 100 / Double(total) : 0
            let percent = (chance * 10).rounded() / 10
            return "raffle #\(period.id) ends \(String(period.endsAt.description.prefix(10))): you have "
                + "\(GuildState.grouped(mine)) of \(GuildState.grouped(total)) tickets (\(percent)% chance)."
        case .leaderboard:
            let top = people.filter { $0.value.points > 0 }.sorted {
                ($0.value.points, $1.key.description) > ($1.value.points, $0.key.description)
            }.prefix(5)
            guard !top.isEmpty else { return "the leaderboard is empty." }
            let rows = top.enumerated().map { i, entry in
                "\(i + 1). \(displayName(entry.key)) (\(GuildState.grouped(entry.value.points)))"
            }
            return "top points: " + rows.joined(separator: " ")
        default:
            return "link your Kick account from Discord: type /link in the server."
        }
    }

    /// The name a person goes by in chat.
    private func displayName(_ person: PersonID) -> String {
        switch person {
        case .kick(let chatter): return chatters[chatter]?.username ?? person.description
        case .kickName(let name): return name
        case .discord(let user):
            guard let chatter = links[user] else { return person.description }
            return chatters[chatter]?.username ?? person.description
        }
    }

    /// `1234567` as `1,234,567`.
    public static func grouped(_ value: Int64) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (i, ch) in digits.enumerated() {
            if i > 0, (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(ch)
        }
        return value < 0 ? "-" + out : out
    }

    /// `text` cut to at most `limit` bytes of UTF-8, on a character boundary.
    static func truncated(_ text: String, to limit: Int) -> String {
        guard text.utf8.count > limit else { return text }
        var out = ""
        var bytes = 0
        for character in text {
            let size = character.utf8.count
            guard bytes + size <= limit else { break }
            out.append(character)
            bytes += size
        }
        return out
    }
}
