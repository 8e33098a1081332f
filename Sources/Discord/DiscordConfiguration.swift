import EventLog
public import Foundation

/// A deployment's Discord app: its application id, the Ed25519 public key interactions are signed
/// with, the bot's token for the REST API, and where that API is (the real one by default; a fake's in
/// tests and `--demo`). Secrets come from files or the environment and are never logged
/// (``description`` hides them).
public struct DiscordConfiguration: Sendable, CustomStringConvertible {
    public var applicationID: String
    /// The app's public key: 64 hex characters (32 bytes).
    public var publicKeyHex: String
    public var botToken: String
    /// The REST API's base. Default `https://discord.com/api/v10`.
    public var apiBase = "https://discord.com/api/v10"
    /// Requests per second the REST client allows itself across every route (Discord's global limit).
    /// Default 50.
    public var globalRequestsPerSecond = 50
    /// The admin role ids may carry besides MANAGE_GUILD is a guild setting; this is the URL shown in
    /// `User-Agent`. Default `https://github.com/tally`.
    public var userAgentURL = "https://github.com/tally"

    public init(applicationID: String, publicKeyHex: String, botToken: String) {
        self.applicationID = applicationID
        self.publicKeyHex = publicKeyHex
        self.botToken = botToken
    }

    public var description: String { "Discord app \(applicationID) (API \(apiBase); secrets not shown)" }

    /// The app from the environment: `TALLY_DISCORD_APPLICATION_ID`, `TALLY_DISCORD_PUBLIC_KEY`,
    /// `TALLY_DISCORD_BOT_TOKEN` (each also as `…_FILE`, a path to read it from), and optionally
    /// `TALLY_DISCORD_API_BASE`. Nil when none is set.
    ///
    /// - Throws: ``DiscordError`` `configuration` when some are set and others missing, a file is
    ///   unreadable, or the public key is not 64 hex characters.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws
        -> DiscordConfiguration?
    {
        func value(_ name: String) throws -> String? {
            if let path = environment[name + "_FILE"], !path.isEmpty {
                guard
                    let text = FileManager.default.contents(atPath: path).flatMap({ String(data: $0, encoding: .utf8) })
                else { throw DiscordError(.configuration, "cannot read \(name)_FILE (\(path))") }
                return text.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            return environment[name].flatMap { $0.isEmpty ? nil : $0 }
        }
        let names = ["TALLY_DISCORD_APPLICATION_ID", "TALLY_DISCORD_PUBLIC_KEY", "TALLY_DISCORD_BOT_TOKEN"]
        let values = try names.map(value)
        if values.allSatisfy({ $0 == nil }) { return nil }
        let missing = zip(names, values).filter { $0.1 == nil }.map(\.0)
        guard missing.isEmpty else {
            throw DiscordError(
                .configuration,
                "a Discord app needs all of \(names.joined(separator: ", ")); missing \(missing.joined(separator: ", "))"
            )
        }
        guard Hex.decode(values[1]!)?.count == 32 else {
            throw DiscordError(.configuration, "TALLY_DISCORD_PUBLIC_KEY is not 64 hex characters")
        }
        var configuration = DiscordConfiguration(
            applicationID: values[0]!, publicKeyHex: values[1]!, botToken: values[2]!)
        if let api = try value("TALLY_DISCORD_API_BASE") { configuration.apiBase = api }
        return configuration
    }
}
