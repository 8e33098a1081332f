extension GameCommand {
    /// Checks the command's own fields (see ``Command/validateFields()``): what no guild state can
    /// make right is refused before the idempotency key is looked up.
    func validateFields() throws {
        switch self {
        case .openSlotQueue(let commitment):
            guard commitment.count == 32 else {
                throw Rejection(.invalidCommitment, "a seed commitment is 32 bytes (SHA-256)")
            }
        case .setSlotBlacklist(let slot, _):
            guard !GamesState.normalisedSlot(slot).isEmpty, slot.utf8.count <= GuildState.slotNameLimit else {
                throw Rejection(.invalidText, "a slot name is 1 to \(GuildState.slotNameLimit) bytes")
            }
        case .resolveGuess(let text, let winners):
            guard MoneyAmount(parsing: text) != nil else {
                throw Rejection(
                    .invalidAmount, "a result is an amount above 0 and at most 999,999,999,999.99, like 1234.56")
            }
            if let winners, !(1...10).contains(winners) { throw Rejection(.invalidValue, "winners is 1 to 10") }
        case .saveCustomCommand(let command):
            let name = command.name.lowercased()
            guard (1...32).contains(name.utf8.count),
                name.utf8.allSatisfy({
                    ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F || $0 == 0x2D
                })
            else { throw Rejection(.invalidName, "a command name is 1 to 32 letters, digits, _ and -, without the !") }
            do { _ = try ChatTemplate(parsing: command.template) } catch {
                throw Rejection(.invalidTemplate, error.description)
            }
            guard (0...86_400).contains(command.cooldownSeconds) else {
                throw Rejection(.invalidValue, "a cooldown is 0 to 86,400 seconds")
            }
        case .deleteCustomCommand(let name):
            guard (1...32).contains(name.utf8.count) else {
                throw Rejection(.invalidName, "a command name is 1 to 32 bytes")
            }
        case .saveTimedMessage(let message):
            guard !message.text.isEmpty, message.text.utf8.count <= GuildState.kickChatLimit else {
                throw Rejection(.invalidText, "a timed message is 1 to \(GuildState.kickChatLimit) bytes")
            }
            guard (1...1440).contains(message.intervalMinutes) else {
                throw Rejection(.invalidValue, "an interval is 1 to 1,440 minutes")
            }
        default:
            break
        }
    }
}
