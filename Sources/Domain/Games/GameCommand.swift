/// A request to the chat games and messages: the payload of ``Command/game(_:)``. Viewers' requests
/// come from Kick chat (through ``Command/answerChatCommand(_:username:message:messageID:)``);
/// admins' from Discord slash commands and the HTTP API.
public enum GameCommand: Hashable, Sendable {
    /// Opens a slot-request round committing to `commitment` = SHA-256 of its secret seed.
    case openSlotQueue(commitment: [UInt8])
    /// Closes the round, revealing its seed (which must match the commitment).
    case closeSlotQueue(seed: [UInt8])
    /// Picks a waiting request with the round's seed (which must match the commitment).
    case pickSlot(seed: [UInt8])
    case skipSlotRequest(number: UInt32)
    case clearSlotQueue
    case setSlotBlacklist(slot: String, blocked: Bool)

    case openGuess
    case closeGuess
    /// Enters the result (exact decimal text, e.g. `1234.56`) and ranks the `winners` closest guesses
    /// (nil: the `guess_winners` setting, 3 by default; 1 to 10).
    case resolveGuess(result: String, winners: Int?)

    case saveCustomCommand(CustomCommand)
    case deleteCustomCommand(name: String)

    /// Saves a timed message; id 0 takes the next free id.
    case saveTimedMessage(TimedMessage)
    case deleteTimedMessage(id: UInt32)
    /// The timer's check: sends every timed message that is due, when the stream is live and at least
    /// 2 people chatted in the last 5 minutes.
    case sendTimedMessages
}
