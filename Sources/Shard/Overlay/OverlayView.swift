public import Domain
public import EventLog
import Foundation

/// What an overlay shows, computed from the guild's state: the JSON an overlay page renders, sent in
/// full with every update (so a page that missed updates shows no gap once it has the next).
public struct OverlayView: Sendable {
    public let kind: OverlayKind
    /// `points` or `watchtime` (leaderboard). Default points.
    public var board = "points"
    /// Rows a list shows, 1 to 25. Default 10.
    public var rows = 10
    /// The public base URL verification links start with.
    public var publicBaseURL: String

    public init(kind: OverlayKind, publicBaseURL: String) {
        self.kind = kind
        self.publicBaseURL = publicBaseURL
    }

    /// The view of `state` as JSON (keys sorted, so equal views are equal bytes).
    public func json(_ state: GuildState?, guild: GuildID) -> String {
        let object = state.map { view($0, guild: guild) } ?? ["kind": kind.name, "empty": true]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    func view(_ state: GuildState, guild: GuildID) -> [String: Any] {
        switch kind {
        case .draw:
            let draws = state.raffle.history.values.flatMap { $0 }
            guard let last = draws.max(by: { ($0.period.rawValue, $0.number) < ($1.period.rawValue, $1.number) })
            else { return ["kind": kind.name, "draw": NSNull()] }
            // The names the animation runs through: the period's frozen table (the winner among them).
            var names = (state.raffle.tables[last.period]?.entries ?? []).filter { !$0.excluded }.prefix(40).map {
                state.displayName($0.person)
            }
            let winner = state.displayName(last.winner)
            if !names.contains(winner) { names.append(winner) }
            return [
                "kind": kind.name,
                "draw": [
                    "id": "\(last.period.rawValue):\(last.number)", "period": last.period.rawValue,
                    "number": last.number, "winner": winner, "winnerTickets": last.winnerTickets,
                    "totalTickets": last.totalTickets,
                    "verify": "\(publicBaseURL)/v1/guilds/\(guild)/raffle/draws/\(last.period.rawValue):\(last.number)",
                ] as [String: Any],
                "names": names,
            ]
        case .leaderboard:
            let value: (PersonState) -> Int64 = board == "watchtime" ? { $0.minutes } : { $0.points }
            let top = state.people.map { ($0.key, value($0.value)) }.filter { $0.1 > 0 }
                .sorted { ($0.1, $1.0.description) > ($1.1, $0.0.description) }.prefix(rows)
            return [
                "kind": kind.name, "board": board,
                "rows": top.map { person, amount -> [String: Any] in
                    [
                        "name": state.displayName(person),
                        "value": board == "watchtime" ? "\(amount / 60)h \(amount % 60)m" : GuildState.grouped(amount),
                    ]
                },
            ]
        case .slots:
            let games = state.games
            var object: [String: Any] = [
                "kind": kind.name, "open": games.slotQueueOpen, "round": games.slotRound,
                "waiting": games.slotQueue.count,
                "queue": games.slotQueue.prefix(rows).map {
                    ["number": $0.number, "user": $0.username, "slot": $0.slot] as [String: Any]
                },
            ]
            if let pick = games.lastSlotPick {
                object["lastPick"] = ["slot": pick.request.slot, "user": pick.request.username, "pick": pick.pick]
            }
            return object
        default:
            let games = state.games
            var object: [String: Any] = [
                "kind": kind.name, "open": games.guessOpen, "session": games.guessSession, "count": games.guesses.count,
                "guesses": games.guesses.values.sorted { $0.order > $1.order }.prefix(rows).map {
                    ["user": $0.username, "amount": MoneyAmount.format($0.cents)]
                },
            ]
            if let result = games.lastGuessResult, result.session == games.guessSession {
                object["result"] =
                    [
                        "amount": MoneyAmount.format(result.cents),
                        "winners": result.winners.map {
                            [
                                "user": $0.username, "amount": MoneyAmount.format($0.cents),
                                "off": MoneyAmount.format($0.distance),
                            ]
                        },
                    ] as [String: Any]
            }
            return object
        }
    }
}
