/// An overlay page for OBS: what it shows.
public struct OverlayKind: Hashable, Sendable {
    /// The path segment (`/overlay/{guild}/{name}`).
    public let name: String
    public let title: String

    /// The raffle draw: an animation that lands on the newest draw's winner, with its verification link.
    public static let draw = OverlayKind(name: "draw", title: "Raffle draw")
    /// The live leaderboard (`board=points|watchtime`).
    public static let leaderboard = OverlayKind(name: "leaderboard", title: "Leaderboard")
    /// The slot-request queue.
    public static let slots = OverlayKind(name: "slots", title: "Slot requests")
    /// Guess the balance: the guesses and the result.
    public static let guesses = OverlayKind(name: "guesses", title: "Guess the balance")

    public static let all: [OverlayKind] = [.draw, .leaderboard, .slots, .guesses]

    public init?(name: String) {
        guard let kind = OverlayKind.all.first(where: { $0.name == name }) else { return nil }
        self = kind
    }

    private init(name: String, title: String) {
        self.name = name
        self.title = title
    }
}
