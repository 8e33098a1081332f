/// Settings as a guild sees them: its own overrides over the deployment's global defaults, over
/// the built-in defaults of `features.md`.
public struct GuildSettings: Hashable, Sendable, Codable {
    /// The built-in defaults (the old bot's numbers).
    public static let builtIn: [SettingKey: Int64] = [
        .pointsPer5Min: 1, .subscriberPointsPer5Min: 2, .tickIntervalSeconds: 60, .chatterWindowSeconds: 120,
        .activityWindowSeconds: 300, .minActiveChatters: 2, .watchtimeTicketsPerHour: 10, .giftedSubTickets: 15,
        .leaderboardDefault: 10, .leaderboardMax: 25, .roleRemovalEnabled: 0, .raffleAutoRenew: 0, .linkedRoleID: 0,
        .chatCommandsEnabled: 63, .chatCommandCooldownSeconds: 30,
        .raffleAutoDraw: 0, .liveWhenUnknown: 0,
        .slotRequestCooldownSeconds: 30, .slotRequestCap: 0, .slotRequestRefuseDuplicates: 0, .guessWinners: 3,
    ]

    /// Deployment-wide defaults (a single-server deployment sets only these).
    public var globalDefaults: [SettingKey: Int64]
    /// This guild's overrides.
    public var overrides: [SettingKey: Int64]

    public init(globalDefaults: [SettingKey: Int64] = [:], overrides: [SettingKey: Int64] = [:]) {
        self.globalDefaults = globalDefaults
        self.overrides = overrides
    }

    public subscript(key: SettingKey) -> Int64 {
        overrides[key] ?? globalDefaults[key] ?? GuildSettings.builtIn[key] ?? 0
    }
}
