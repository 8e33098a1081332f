import EventLog

extension GamesState {
    /// Appends the games' state to a guild snapshot (snapshot version 5).
    func encodeSnapshot(into w: inout ByteWriter) {
        w.writeVarint(UInt64(slotRound))
        w.writeBool(slotQueueOpen)
        w.writeData(slotCommitment)
        w.writeVarint(UInt64(slotQueue.count))
        for request in slotQueue { EventCodec.encodeSlotRequest(request, into: &w) }
        w.writeVarint(UInt64(lastSlotNumber))
        w.writeVarint(UInt64(slotPicks))
        w.writeBool(lastSlotPick != nil)
        if let lastSlotPick { EventCodec.encodeGame(.slotPicked(lastSlotPick), into: &w) }
        w.writeVarint(UInt64(slotBlacklist.count))
        for slot in slotBlacklist.sorted() { w.writeString(slot) }
        w.writeVarint(UInt64(lastSlotRequest.count))
        for (chatter, time) in lastSlotRequest {
            w.writeVarint(chatter.rawValue)
            w.writeTime(time)
        }
        w.writeVarint(UInt64(guessSession))
        w.writeBool(guessOpen)
        w.writeVarint(UInt64(guesses.count))
        for (chatter, guess) in guesses {
            w.writeVarint(chatter.rawValue)
            w.writeString(guess.username)
            w.writeInt(guess.cents)
            w.writeVarint(guess.order)
        }
        w.writeBool(lastGuessResult != nil)
        if let lastGuessResult { EventCodec.encodeGame(.guessResolved(lastGuessResult), into: &w) }
        w.writeVarint(UInt64(customCommands.count))
        for command in customCommands.values { EventCodec.encodeGame(.customCommandSaved(command), into: &w) }
        w.writeVarint(UInt64(customCommandUsedAt.count))
        for (name, time) in customCommandUsedAt {
            w.writeString(name)
            w.writeTime(time)
        }
        w.writeVarint(UInt64(timedMessages.count))
        for message in timedMessages.values { EventCodec.encodeGame(.timedMessageSaved(message), into: &w) }
        w.writeVarint(UInt64(timedMessageSentAt.count))
        for (id, time) in timedMessageSentAt {
            w.writeVarint(UInt64(id))
            w.writeTime(time)
        }
        w.writeVarint(UInt64(lastTimedMessage))
    }

    /// Reads what ``encodeSnapshot(into:)`` wrote.
    static func decodeSnapshot(from r: inout ByteReader) throws(ByteReader.Overrun) -> GamesState {
        func count() throws(ByteReader.Overrun) -> Int {
            let n = try r.readVarint()
            guard n <= UInt64(r.remaining) else { throw ByteReader.Overrun() }
            return Int(n)
        }
        func u32() throws(ByteReader.Overrun) -> UInt32 {
            let v = try r.readVarint()
            guard v <= UInt64(UInt32.max) else { throw ByteReader.Overrun() }
            return UInt32(v)
        }
        func game(_ tag: UInt16) throws(ByteReader.Overrun) -> GameEvent {
            guard let event = try EventCodec.decodeGame(tag: tag, &r) else { throw ByteReader.Overrun() }
            return event
        }
        var s = GamesState()
        s.slotRound = try u32()
        s.slotQueueOpen = try r.readBool()
        s.slotCommitment = try r.readData()
        for _ in 0..<(try count()) { s.slotQueue.append(try EventCodec.decodeSlotRequest(&r)) }
        s.lastSlotNumber = try u32()
        s.slotPicks = try u32()
        if try r.readBool() {
            guard case .slotPicked(let pick) = try game(101) else { throw ByteReader.Overrun() }
            s.lastSlotPick = pick
        }
        for _ in 0..<(try count()) { s.slotBlacklist.insert(try r.readString()) }
        for _ in 0..<(try count()) { s.lastSlotRequest[KickUserID(try r.readVarint())] = try r.readTime() }
        s.guessSession = try u32()
        s.guessOpen = try r.readBool()
        for _ in 0..<(try count()) {
            let chatter = KickUserID(try r.readVarint())
            s.guesses[chatter] = Guess(username: try r.readString(), cents: try r.readInt(), order: try r.readVarint())
        }
        if try r.readBool() {
            guard case .guessResolved(let result) = try game(106) else { throw ByteReader.Overrun() }
            s.lastGuessResult = result
        }
        for _ in 0..<(try count()) {
            guard case .customCommandSaved(let command) = try game(107) else { throw ByteReader.Overrun() }
            s.customCommands[command.name] = command
        }
        for _ in 0..<(try count()) { s.customCommandUsedAt[try r.readString()] = try r.readTime() }
        for _ in 0..<(try count()) {
            guard case .timedMessageSaved(let message) = try game(110) else { throw ByteReader.Overrun() }
            s.timedMessages[message.id] = message
        }
        for _ in 0..<(try count()) { s.timedMessageSentAt[try u32()] = try r.readTime() }
        s.lastTimedMessage = try u32()
        return s
    }
}
