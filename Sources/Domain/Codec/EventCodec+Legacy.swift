import EventLog

extension EventCodec {
    /// The fields of the import events (tags 80–85, version 1).
    ///
    /// A ``LegacyRow`` is its table and key as strings. `legacy_record_imported` holds its row, then
    /// the wrapped event's tag (varint), version (byte) and fields, as ``encode(_:key:commandEvents:origin:)``
    /// would write them; a wrapped import event is refused when decoding.
    static func encodeLegacyFields(_ event: DomainEvent, into w: inout ByteWriter) {
        switch event {
        case .legacyPersonImported(let p):
            w.writePerson(p.person)
            w.writeString(p.kickName)
            for v in [p.minutes, p.unconvertedMinutes, p.points, p.pointsEarned, p.pointsSpent, p.periodMinutes] {
                w.writeInt(v)
            }
            w.writeVarint(UInt64(p.sources.count))
            for row in p.sources { w.writeRow(row) }
        case .legacyRecordImported(let row, let inner):
            w.writeRow(row)
            let info = EventCodec.info(inner)
            w.writeVarint(UInt64(info.tag.rawValue))
            w.write(info.version)
            encodeFields(inner, into: &w)
        case .legacyRoleThresholdImported(let t):
            w.writeString(t.name)
            w.writeInt(t.minutes)
            w.writeInt(Int64(t.position))
            w.writeBool(t.enabled)
            w.writeRow(t.source)
        case .legacyOrderImported(let o):
            encodeFields(.itemPurchased(o.order), into: &w)
            w.writeTime(o.placedAt)
            w.writeRow(o.source)
        case .legacyPeriodImported(let p):
            w.writeRow(p.source)
            w.writeInt(p.number)
            w.writeTime(p.startsAt)
            w.writeTime(p.endsAt)
            w.writeInt(p.totalTickets)
            w.writeString(p.seedCommitment)
            w.writeVarint(UInt64(p.draws.count))
            for d in p.draws {
                w.writeRow(d.source)
                w.writeSnowflake(d.winner.rawValue)
                w.writeString(d.winnerKickName)
                w.writeInt(d.winningTicket)
                w.writeInt(d.totalTickets)
                w.writeInt(d.participants)
                w.writeString(d.serverSeed)
                w.writeString(d.clientSeed)
                w.writeString(d.nonce)
                w.writeTime(d.drawnAt)
                w.writeString(d.verification)
            }
        case .kickNameResolved(let name, let chatter):
            w.writeString(name)
            w.writeVarint(chatter.rawValue)
        default:
            preconditionFailure("not an import event")
        }
    }

    static func decodeLegacyFields(tag: UInt16, _ r: inout ByteReader) throws(ByteReader.Overrun) -> DomainEvent? {
        switch tag {
        case 80:
            let person = try r.readPerson()
            let kickName = try r.readString()
            var values: [Int64] = []
            for _ in 0..<6 { values.append(try r.readInt()) }
            let n = try r.readVarint()
            guard n <= UInt64(r.remaining) else { throw ByteReader.Overrun() }
            var sources: [LegacyRow] = []
            for _ in 0..<n { sources.append(try r.readRow()) }
            return .legacyPersonImported(
                LegacyPerson(
                    person: person, kickName: kickName, minutes: values[0], unconvertedMinutes: values[1],
                    points: values[2], pointsEarned: values[3], pointsSpent: values[4], periodMinutes: values[5],
                    sources: sources))
        case 81:
            let row = try r.readRow()
            let innerTag = try r.readVarint()
            let version = try r.read(UInt8.self)
            // An import event never wraps another one.
            guard innerTag < 80 || innerTag > 85, innerTag <= UInt64(UInt16.max),
                let inner = try decodeFields(tag: UInt16(innerTag), version: version, &r)
            else { throw ByteReader.Overrun() }
            return .legacyRecordImported(row, inner)
        case 82:
            return .legacyRoleThresholdImported(
                LegacyRoleThreshold(
                    name: try r.readString(), minutes: try r.readInt(),
                    position: Int32(truncatingIfNeeded: try r.readInt()), enabled: try r.readBool(),
                    source: try r.readRow()))
        case 83:
            guard case .itemPurchased(let order) = try decodeFields(tag: 22, version: 1, &r) else {
                throw ByteReader.Overrun()
            }
            return .legacyOrderImported(LegacyOrder(order: order, placedAt: try r.readTime(), source: try r.readRow()))
        case 84:
            let source = try r.readRow()
            let number = try r.readInt()
            let startsAt = try r.readTime()
            let endsAt = try r.readTime()
            let total = try r.readInt()
            let commitment = try r.readString()
            let n = try r.readVarint()
            guard n <= UInt64(r.remaining) else { throw ByteReader.Overrun() }
            var draws: [LegacyDraw] = []
            for _ in 0..<n {
                draws.append(
                    LegacyDraw(
                        source: try r.readRow(), winner: UserID(try r.readSnowflake()),
                        winnerKickName: try r.readString(), winningTicket: try r.readInt(),
                        totalTickets: try r.readInt(), participants: try r.readInt(), serverSeed: try r.readString(),
                        clientSeed: try r.readString(), nonce: try r.readString(), drawnAt: try r.readTime(),
                        verification: try r.readString()))
            }
            return .legacyPeriodImported(
                LegacyPeriod(
                    source: source, number: number, startsAt: startsAt, endsAt: endsAt, totalTickets: total,
                    seedCommitment: commitment, draws: draws))
        case 85:
            return .kickNameResolved(name: try r.readString(), KickUserID(try r.readVarint()))
        default:
            return nil
        }
    }
}

extension ByteWriter {
    mutating func writeRow(_ row: LegacyRow) {
        writeString(row.table)
        writeString(row.row)
    }
}

extension ByteReader {
    mutating func readRow() throws(Overrun) -> LegacyRow {
        LegacyRow(try readString(), try readString())
    }
}
