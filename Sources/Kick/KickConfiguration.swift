public import Foundation

/// A deployment's Kick app: its OAuth client, the bot's token, Kick's webhook public key, and where
/// Kick's endpoints are (the real ones by default; a fake's in tests and `--demo`). Secrets come from
/// files or the environment and are never logged (``description`` hides them).
public struct KickConfiguration: Sendable, CustomStringConvertible {
    public var clientID: String
    public var clientSecret: String
    /// The bot's access token for Kick's public API (chat replies, event subscriptions).
    public var botToken: String
    /// Kick's RSA public key for webhook signatures, in PEM.
    public var webhookPublicKeyPEM: String
    /// Kick's public API. Default `https://api.kick.com`.
    public var apiBase = "https://api.kick.com"
    /// Kick's OAuth server. Default `https://id.kick.com`.
    public var oauthBase = "https://id.kick.com"

    public init(clientID: String, clientSecret: String, botToken: String, webhookPublicKeyPEM: String) {
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.botToken = botToken
        self.webhookPublicKeyPEM = webhookPublicKeyPEM
    }

    public var description: String {
        "Kick app \(clientID) (API \(apiBase), OAuth \(oauthBase); secrets not shown)"
    }

    /// The app from the environment: `TALLY_KICK_CLIENT_ID`, `TALLY_KICK_CLIENT_SECRET`,
    /// `TALLY_KICK_BOT_TOKEN`, `TALLY_KICK_PUBLIC_KEY` (each also as `…_FILE`, a path to read it
    /// from), and optionally `TALLY_KICK_API_BASE` and `TALLY_KICK_OAUTH_BASE`. Nil when none is set.
    ///
    /// - Throws: ``KickError`` `configuration` when some are set and others missing, or a file is unreadable.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws
        -> KickConfiguration?
    {
        func value(_ name: String) throws -> String? {
            if let path = environment[name + "_FILE"], !path.isEmpty {
                guard
                    let text = FileManager.default.contents(atPath: path).flatMap({ String(data: $0, encoding: .utf8) })
                else { throw KickError(.configuration, "cannot read \(name)_FILE (\(path))") }
                return text.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            return environment[name].flatMap { $0.isEmpty ? nil : $0 }
        }
        let names = [
            "TALLY_KICK_CLIENT_ID", "TALLY_KICK_CLIENT_SECRET", "TALLY_KICK_BOT_TOKEN", "TALLY_KICK_PUBLIC_KEY",
        ]
        let values = try names.map(value)
        if values.allSatisfy({ $0 == nil }) { return nil }
        let missing = zip(names, values).filter { $0.1 == nil }.map(\.0)
        guard missing.isEmpty else {
            throw KickError(
                .configuration,
                "a Kick app needs all of \(names.joined(separator: ", ")); missing \(missing.joined(separator: ", "))")
        }
        var configuration = KickConfiguration(
            clientID: values[0]!, clientSecret: values[1]!, botToken: values[2]!, webhookPublicKeyPEM: values[3]!)
        if let api = try value("TALLY_KICK_API_BASE") { configuration.apiBase = api }
        if let oauth = try value("TALLY_KICK_OAUTH_BASE") { configuration.oauthBase = oauth }
        return configuration
    }
}
