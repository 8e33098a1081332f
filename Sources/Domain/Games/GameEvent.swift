/// What happened in a guild's chat games and messages (slot requests, guess the balance, custom
/// commands, timed messages): the payload of ``DomainEvent/game(_:)``. Each case has its own type
/// tag in 96–127 (see ``EventCodec``).
public enum GameEvent: Hashable, Sendable {
    /// A slot-request round opened, committed to `SHA-256(seed)` of its secret seed.
    case slotQueueOpened(round: UInt32, commitment: [UInt8])
    /// The round closed and its seed was revealed (picks of the round can be verified from here on).
    case slotQueueClosed(round: UInt32, seed: [UInt8])
    case slotRequested(SlotRequest)
    /// An admin skipped a waiting request.
    case slotRequestSkipped(number: UInt32)
    /// An admin emptied the queue.
    case slotQueueCleared(round: UInt32)
    /// A request was picked, provably fairly (see ``SlotPicking``), and left the queue.
    case slotPicked(SlotPick)
    /// A slot was put on (or taken off) the blacklist, by its normalised name.
    case slotBlacklistChanged(slot: String, blocked: Bool)

    /// A guess-the-balance session opened.
    case guessOpened(session: UInt32)
    /// A chatter's guess (a later one overwrites the earlier), in hundredths.
    case guessRecorded(session: UInt32, chatter: KickUserID, username: String, cents: Int64)
    case guessClosed(session: UInt32)
    /// The result was entered and the closest guesses ranked.
    case guessResolved(GuessResult)

    case customCommandSaved(CustomCommand)
    case customCommandDeleted(name: String)
    /// A custom command answered (its reply is the delivery after it); starts its cooldown.
    case customCommandUsed(name: String)

    case timedMessageSaved(TimedMessage)
    case timedMessageDeleted(id: UInt32)
    /// A timed message went out (its delivery follows).
    case timedMessageSent(id: UInt32)
}

/// A viewer's slot request, numbered in the guild (numbers never repeat).
public struct SlotRequest: Hashable, Sendable {
    public var number: UInt32
    public var chatter: KickUserID
    public var username: String
    public var slot: String

    public init(number: UInt32, chatter: KickUserID, username: String, slot: String) {
        self.number = number
        self.chatter = chatter
        self.username = username
        self.slot = slot
    }
}

/// A pick from the slot queue, with what its verification needs.
public struct SlotPick: Hashable, Sendable {
    public var round: UInt32
    /// The pick's number in its round (1, 2, …).
    public var pick: UInt32
    /// The request picked.
    public var request: SlotRequest
    /// How many requests were waiting, and the digest of their numbers in queue order.
    public var candidates: UInt32
    public var candidatesDigest: [UInt8]
    /// The picked request's position among the candidates (from 0).
    public var index: UInt32

    public init(
        round: UInt32, pick: UInt32, request: SlotRequest, candidates: UInt32, candidatesDigest: [UInt8], index: UInt32
    ) {
        self.round = round
        self.pick = pick
        self.request = request
        self.candidates = candidates
        self.candidatesDigest = candidatesDigest
        self.index = index
    }
}

/// One ranked guess of a resolved session.
public struct GuessWinner: Hashable, Sendable {
    public var chatter: KickUserID
    public var username: String
    public var cents: Int64
    public var distance: Int64

    public init(chatter: KickUserID, username: String, cents: Int64, distance: Int64) {
        self.chatter = chatter
        self.username = username
        self.cents = cents
        self.distance = distance
    }
}

/// A resolved guess-the-balance session: the result and the closest guesses, best first.
public struct GuessResult: Hashable, Sendable {
    public var session: UInt32
    public var cents: Int64
    public var winners: [GuessWinner]
    /// How many people guessed.
    public var guesses: UInt32

    public init(session: UInt32, cents: Int64, winners: [GuessWinner], guesses: UInt32) {
        self.session = session
        self.cents = cents
        self.winners = winners
        self.guesses = guesses
    }
}

/// A guild's own chat command: `!name` answers its template, at most once per `cooldownSeconds`.
public struct CustomCommand: Hashable, Sendable {
    /// Lower-case letters, digits, `_` and `-`, 1 to 32 of them, without the `!`.
    public var name: String
    public var template: String
    public var cooldownSeconds: Int64

    public init(name: String, template: String, cooldownSeconds: Int64) {
        self.name = name
        self.template = template
        self.cooldownSeconds = cooldownSeconds
    }
}

/// A message sent in Kick chat every `intervalMinutes` while people chat and the stream is live.
public struct TimedMessage: Hashable, Sendable {
    public var id: UInt32
    public var text: String
    public var intervalMinutes: Int64

    public init(id: UInt32, text: String, intervalMinutes: Int64) {
        self.id = id
        self.text = text
        self.intervalMinutes = intervalMinutes
    }
}
