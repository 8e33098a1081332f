public import EventLog

/// A guild's chat games and messages, folded from its ``GameEvent``s (part of ``GuildState``).
public struct GamesState: Hashable, Sendable {
    // Slot requests
    /// The newest slot-request round (0: never opened).
    public internal(set) var slotRound: UInt32 = 0
    public internal(set) var slotQueueOpen = false
    /// The newest round's commitment, SHA-256 of its seed.
    public internal(set) var slotCommitment: [UInt8] = []
    /// Requests waiting, in the order they came.
    public internal(set) var slotQueue: [SlotRequest] = []
    public internal(set) var lastSlotNumber: UInt32 = 0
    /// Picks made in the newest round.
    public internal(set) var slotPicks: UInt32 = 0
    public internal(set) var lastSlotPick: SlotPick?
    /// Slots refused, by normalised name (see ``GamesState/normalisedSlot(_:)``).
    public internal(set) var slotBlacklist: Set<String> = []
    /// When each chatter's last request was taken (for the cooldown).
    public internal(set) var lastSlotRequest: [KickUserID: Timestamp] = [:]

    // Guess the balance
    /// The newest session (0: never opened).
    public internal(set) var guessSession: UInt32 = 0
    public internal(set) var guessOpen = false
    /// The newest session's guesses by chatter; `order` is the sequence of the guess as it stands.
    public internal(set) var guesses: [KickUserID: Guess] = [:]
    public internal(set) var lastGuessResult: GuessResult?

    // Custom commands and timed messages
    public internal(set) var customCommands: [String: CustomCommand] = [:]
    /// When each custom command last answered (for its cooldown).
    public internal(set) var customCommandUsedAt: [String: Timestamp] = [:]
    public internal(set) var timedMessages: [UInt32: TimedMessage] = [:]
    /// When each timed message last went out (or was saved).
    public internal(set) var timedMessageSentAt: [UInt32: Timestamp] = [:]
    public internal(set) var lastTimedMessage: UInt32 = 0

    public init() {}

    /// A guess as it stands.
    public struct Guess: Hashable, Sendable {
        public var username: String
        public var cents: Int64
        /// The sequence number of the event that recorded it: earlier guesses win ties.
        public var order: UInt64
    }

    /// The name a slot is compared by (blacklist, duplicates): trimmed, lower-cased, inner spaces single.
    public static func normalisedSlot(_ slot: String) -> String {
        slot.lowercased().split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }

    mutating func apply(_ event: GameEvent, sequence: UInt64, timestamp: Timestamp) {
        switch event {
        case .slotQueueOpened(let round, let commitment):
            slotRound = round
            slotQueueOpen = true
            slotCommitment = commitment
            slotQueue = []
            slotPicks = 0
        case .slotQueueClosed:
            slotQueueOpen = false
        case .slotRequested(let request):
            slotQueue.append(request)
            lastSlotNumber = max(lastSlotNumber, request.number)
            lastSlotRequest[request.chatter] = timestamp
            if lastSlotRequest.count > 4096 {
                let horizon = timestamp.rawValue - SettingKey.slotRequestCooldownSeconds.validRange.upperBound * 1000
                lastSlotRequest = lastSlotRequest.filter { $0.value.rawValue >= horizon }
            }
        case .slotRequestSkipped(let number):
            slotQueue.removeAll { $0.number == number }
        case .slotQueueCleared:
            slotQueue = []
        case .slotPicked(let pick):
            slotQueue.removeAll { $0.number == pick.request.number }
            slotPicks = max(slotPicks, pick.pick)
            lastSlotPick = pick
        case .slotBlacklistChanged(let slot, let blocked):
            if blocked { slotBlacklist.insert(slot) } else { slotBlacklist.remove(slot) }
        case .guessOpened(let session):
            guessSession = session
            guessOpen = true
            guesses = [:]
        case .guessRecorded(_, let chatter, let username, let cents):
            guesses[chatter] = Guess(username: username, cents: cents, order: sequence)
        case .guessClosed:
            guessOpen = false
        case .guessResolved(let result):
            guessOpen = false
            lastGuessResult = result
        case .customCommandSaved(let command):
            customCommands[command.name] = command
        case .customCommandDeleted(let name):
            customCommands.removeValue(forKey: name)
            customCommandUsedAt.removeValue(forKey: name)
        case .customCommandUsed(let name):
            customCommandUsedAt[name] = timestamp
        case .timedMessageSaved(let message):
            timedMessages[message.id] = message
            lastTimedMessage = max(lastTimedMessage, message.id)
            timedMessageSentAt[message.id] = timestamp
        case .timedMessageDeleted(let id):
            timedMessages.removeValue(forKey: id)
            timedMessageSentAt.removeValue(forKey: id)
        case .timedMessageSent(let id):
            timedMessageSentAt[id] = timestamp
        }
    }
}
