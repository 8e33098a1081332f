import EventLog

extension EventCodec {
    /// Each game event's type tag (96–127; 96 and up are the games', see ``GameEvent``) and name.
    static func gameTag(_ event: GameEvent) -> UInt16 {
        switch event {
        case .slotQueueOpened: 96
        case .slotQueueClosed: 97
        case .slotRequested: 98
        case .slotRequestSkipped: 99
        case .slotQueueCleared: 100
        case .slotPicked: 101
        case .slotBlacklistChanged: 102
        case .guessOpened: 103
        case .guessRecorded: 104
        case .guessClosed: 105
        case .guessResolved: 106
        case .customCommandSaved: 107
        case .customCommandDeleted: 108
        case .customCommandUsed: 109
        case .timedMessageSaved: 110
        case .timedMessageDeleted: 111
        case .timedMessageSent: 112
        }
    }

    static let gameNames: [UInt16: String] = [
        96: "slot_queue_opened", 97: "slot_queue_closed", 98: "slot_requested", 99: "slot_request_skipped",
        100: "slot_queue_cleared", 101: "slot_picked", 102: "slot_blacklist_changed", 103: "guess_opened",
        104: "guess_recorded", 105: "guess_closed", 106: "guess_resolved", 107: "custom_command_saved",
        108: "custom_command_deleted", 109: "custom_command_used", 110: "timed_message_saved",
        111: "timed_message_deleted", 112: "timed_message_sent",
    ]

    static func encodeGame(_ event: GameEvent, into w: inout ByteWriter) {
        switch event {
        case .slotQueueOpened(let round, let commitment):
            w.writeVarint(UInt64(round))
            w.writeData(commitment)
        case .slotQueueClosed(let round, let seed):
            w.writeVarint(UInt64(round))
            w.writeData(seed)
        case .slotRequested(let request): encodeSlotRequest(request, into: &w)
        case .slotRequestSkipped(let number): w.writeVarint(UInt64(number))
        case .slotQueueCleared(let round): w.writeVarint(UInt64(round))
        case .slotPicked(let pick):
            w.writeVarint(UInt64(pick.round))
            w.writeVarint(UInt64(pick.pick))
            encodeSlotRequest(pick.request, into: &w)
            w.writeVarint(UInt64(pick.candidates))
            w.writeData(pick.candidatesDigest)
            w.writeVarint(UInt64(pick.index))
        case .slotBlacklistChanged(let slot, let blocked):
            w.writeString(slot)
            w.writeBool(blocked)
        case .guessOpened(let session), .guessClosed(let session): w.writeVarint(UInt64(session))
        case .guessRecorded(let session, let chatter, let username, let cents):
            w.writeVarint(UInt64(session))
            w.writeVarint(chatter.rawValue)
            w.writeString(username)
            w.writeInt(cents)
        case .guessResolved(let result):
            w.writeVarint(UInt64(result.session))
            w.writeInt(result.cents)
            w.writeVarint(UInt64(result.guesses))
            w.writeVarint(UInt64(result.winners.count))
            for winner in result.winners {
                w.writeVarint(winner.chatter.rawValue)
                w.writeString(winner.username)
                w.writeInt(winner.cents)
                w.writeInt(winner.distance)
            }
        case .customCommandSaved(let command):
            w.writeString(command.name)
            w.writeString(command.template)
            w.writeInt(command.cooldownSeconds)
        case .customCommandDeleted(let name), .customCommandUsed(let name): w.writeString(name)
        case .timedMessageSaved(let message):
            w.writeVarint(UInt64(message.id))
            w.writeString(message.text)
            w.writeInt(message.intervalMinutes)
        case .timedMessageDeleted(let id), .timedMessageSent(let id): w.writeVarint(UInt64(id))
        }
    }

    static func decodeGame(tag: UInt16, _ r: inout ByteReader) throws(ByteReader.Overrun) -> GameEvent? {
        func u32() throws(ByteReader.Overrun) -> UInt32 {
            let v = try r.readVarint()
            guard v <= UInt64(UInt32.max) else { throw ByteReader.Overrun() }
            return UInt32(v)
        }
        switch tag {
        case 96: return .slotQueueOpened(round: try u32(), commitment: try r.readData())
        case 97: return .slotQueueClosed(round: try u32(), seed: try r.readData())
        case 98: return .slotRequested(try decodeSlotRequest(&r))
        case 99: return .slotRequestSkipped(number: try u32())
        case 100: return .slotQueueCleared(round: try u32())
        case 101:
            return .slotPicked(
                SlotPick(
                    round: try u32(), pick: try u32(), request: try decodeSlotRequest(&r), candidates: try u32(),
                    candidatesDigest: try r.readData(), index: try u32()))
        case 102: return .slotBlacklistChanged(slot: try r.readString(), blocked: try r.readBool())
        case 103: return .guessOpened(session: try u32())
        case 104:
            return .guessRecorded(
                session: try u32(), chatter: KickUserID(try r.readVarint()), username: try r.readString(),
                cents: try r.readInt())
        case 105: return .guessClosed(session: try u32())
        case 106:
            let session = try u32()
            let cents = try r.readInt()
            let guesses = try u32()
            let count = try r.readVarint()
            guard count <= UInt64(r.remaining) else { throw ByteReader.Overrun() }
            var winners: [GuessWinner] = []
            for _ in 0..<count {
                winners.append(
                    GuessWinner(
                        chatter: KickUserID(try r.readVarint()), username: try r.readString(), cents: try r.readInt(),
                        distance: try r.readInt()))
            }
            return .guessResolved(GuessResult(session: session, cents: cents, winners: winners, guesses: guesses))
        case 107:
            return .customCommandSaved(
                CustomCommand(name: try r.readString(), template: try r.readString(), cooldownSeconds: try r.readInt()))
        case 108: return .customCommandDeleted(name: try r.readString())
        case 109: return .customCommandUsed(name: try r.readString())
        case 110:
            return .timedMessageSaved(
                TimedMessage(id: try u32(), text: try r.readString(), intervalMinutes: try r.readInt()))
        case 111: return .timedMessageDeleted(id: try u32())
        case 112: return .timedMessageSent(id: try u32())
        default: return nil
        }
    }

    static func encodeSlotRequest(_ request: SlotRequest, into w: inout ByteWriter) {
        w.writeVarint(UInt64(request.number))
        w.writeVarint(request.chatter.rawValue)
        w.writeString(request.username)
        w.writeString(request.slot)
    }

    static func decodeSlotRequest(_ r: inout ByteReader) throws(ByteReader.Overrun) -> SlotRequest {
        let number = try r.readVarint()
        guard number <= UInt64(UInt32.max) else { throw ByteReader.Overrun() }
        return SlotRequest(
            number: UInt32(number), chatter: KickUserID(try r.readVarint()), username: try r.readString(),
            slot: try r.readString())
    }
}
