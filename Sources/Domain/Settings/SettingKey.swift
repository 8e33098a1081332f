/// A per-guild setting. Every number in `features.md` is one of these, with a global default.
public struct SettingKey: RawRepresentable, Hashable, Sendable, CustomStringConvertible, CaseIterable, Codable {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public var description: String { SettingKey.names[self] ?? "setting_\(rawValue)" }

    public static let pointsPer5Min = SettingKey(rawValue: 1)
    public static let subscriberPointsPer5Min = SettingKey(rawValue: 2)
    public static let tickIntervalSeconds = SettingKey(rawValue: 3)
    public static let chatterWindowSeconds = SettingKey(rawValue: 4)
    public static let activityWindowSeconds = SettingKey(rawValue: 5)
    public static let minActiveChatters = SettingKey(rawValue: 6)
    public static let watchtimeTicketsPerHour = SettingKey(rawValue: 7)
    public static let giftedSubTickets = SettingKey(rawValue: 8)
    public static let leaderboardDefault = SettingKey(rawValue: 9)
    public static let leaderboardMax = SettingKey(rawValue: 10)
    public static let roleRemovalEnabled = SettingKey(rawValue: 11)
    public static let raffleAutoRenew = SettingKey(rawValue: 12)
    public static let linkedRoleID = SettingKey(rawValue: 13)
    /// Which Kick chat commands answer (a bit each, see ``ChatCommand``); default all.
    public static let chatCommandsEnabled = SettingKey(rawValue: 32)
    /// Seconds before a chatter's next chat command is answered.
    public static let chatCommandCooldownSeconds = SettingKey(rawValue: 33)
    /// Winners the timer draws from an ended period once its beacon is recorded (0: draws are manual).
    public static let raffleAutoDraw = SettingKey(rawValue: 14)
    /// 1: a guild whose stream status Kick never reported counts as live (a missed webhook must not
    /// stop accrual); 0: it counts as offline.
    public static let liveWhenUnknown = SettingKey(rawValue: 15)
    /// The Discord channel raffle winners are announced in (0: none).
    public static let raffleAnnouncementChannel = SettingKey(rawValue: 50)
    /// The Discord channel the staff hears about new shop orders in (0: none).
    public static let staffChannel = SettingKey(rawValue: 51)
    /// A Discord role whose members are Tally admins besides those with Manage Server (0: none).
    public static let adminRoleID = SettingKey(rawValue: 52)

    /// Seconds a chatter waits between slot requests.
    public static let slotRequestCooldownSeconds = SettingKey(rawValue: 96)
    /// Requests one chatter may have waiting in the slot queue (0: no cap).
    public static let slotRequestCap = SettingKey(rawValue: 97)
    /// 1: a slot already waiting in the queue is refused.
    public static let slotRequestRefuseDuplicates = SettingKey(rawValue: 98)
    /// How many closest guesses a guess-the-balance result ranks by default.
    public static let guessWinners = SettingKey(rawValue: 99)
    /// The Discord channel game results are announced in (0: none).
    public static let gamesAnnouncementChannel = SettingKey(rawValue: 100)

    public static let allCases: [SettingKey] = [
        .pointsPer5Min, .subscriberPointsPer5Min, .tickIntervalSeconds, .chatterWindowSeconds, .activityWindowSeconds,
        .minActiveChatters, .watchtimeTicketsPerHour, .giftedSubTickets, .leaderboardDefault, .leaderboardMax,
        .roleRemovalEnabled, .raffleAutoRenew, .linkedRoleID, .raffleAutoDraw, .liveWhenUnknown,
        .chatCommandsEnabled, .chatCommandCooldownSeconds,
        .raffleAnnouncementChannel, .staffChannel, .adminRoleID,
        .slotRequestCooldownSeconds, .slotRequestCap, .slotRequestRefuseDuplicates, .guessWinners,
        .gamesAnnouncementChannel,
    ]

    static let names: [SettingKey: String] = [
        .pointsPer5Min: "points_per_5min", .subscriberPointsPer5Min: "subscriber_points_per_5min",
        .tickIntervalSeconds: "tick_interval_seconds", .chatterWindowSeconds: "chatter_window_seconds",
        .activityWindowSeconds: "activity_window_seconds", .minActiveChatters: "min_active_chatters",
        .watchtimeTicketsPerHour: "watchtime_tickets_per_hour", .giftedSubTickets: "gifted_sub_tickets",
        .leaderboardDefault: "leaderboard_default", .leaderboardMax: "leaderboard_max",
        .roleRemovalEnabled: "role_removal_enabled", .raffleAutoRenew: "raffle_auto_renew",
        .linkedRoleID: "linked_role_id", .raffleAutoDraw: "raffle_auto_draw", .liveWhenUnknown: "live_when_unknown",
        .chatCommandsEnabled: "chat_commands_enabled", .chatCommandCooldownSeconds: "chat_command_cooldown_seconds",
        .raffleAnnouncementChannel: "raffle_announcement_channel", .staffChannel: "staff_channel",
        .adminRoleID: "admin_role_id",
        .slotRequestCooldownSeconds: "slot_request_cooldown_seconds", .slotRequestCap: "slot_request_cap",
        .slotRequestRefuseDuplicates: "slot_refuse_duplicates", .guessWinners: "guess_winners",
        .gamesAnnouncementChannel: "games_announcement_channel",
    ]

    /// Looks a setting up by its name as the API and CLI spell it.
    public init?(name: String) {
        guard let key = SettingKey.names.first(where: { $0.value == name })?.key else { return nil }
        self = key
    }

    /// The range of values the setting accepts.
    public var validRange: ClosedRange<Int64> {
        switch self {
        case .pointsPer5Min, .subscriberPointsPer5Min: 0...1_000_000
        case .tickIntervalSeconds: 60...3600
        case .chatterWindowSeconds, .activityWindowSeconds: 30...86_400
        case .minActiveChatters: 1...1000
        case .watchtimeTicketsPerHour, .giftedSubTickets: 0...1_000_000
        case .leaderboardDefault, .leaderboardMax: 1...25
        case .roleRemovalEnabled, .raffleAutoRenew, .liveWhenUnknown: 0...1
        case .raffleAutoDraw: 0...10
        case .chatCommandsEnabled: 0...63
        case .chatCommandCooldownSeconds, .slotRequestCooldownSeconds: 0...86_400
        case .slotRequestCap: 0...1000
        case .slotRequestRefuseDuplicates: 0...1
        case .guessWinners: 1...10
        default: 0...Int64.max
        }
    }
}
