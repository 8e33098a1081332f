import ArgumentParser
import AsyncHTTPClient
import Discord
import Foundation

/// `tally discord …`: operating the Discord app.
struct DiscordCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "discord", abstract: "Operate the Discord app.", subcommands: [RegisterCommands.self])

    /// `tally discord register-commands [--guild G]`.
    struct RegisterCommands: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "register-commands",
            abstract: "Register Tally's slash commands with Discord (a bulk overwrite of the whole set).",
            discussion: """
                The app comes from TALLY_DISCORD_APPLICATION_ID, TALLY_DISCORD_PUBLIC_KEY and TALLY_DISCORD_BOT_TOKEN \
                (each also as …_FILE). Without --guild the commands are global (Discord takes up to an hour to show \
                them); with it, they appear in that guild at once.
                """)

        @Option(help: "Register in this guild only (a snowflake).")
        var guild: UInt64?

        func run() async throws {
            guard let configuration = try DiscordConfiguration.fromEnvironment() else {
                throw ValidationError(
                    "no Discord app is configured: set TALLY_DISCORD_APPLICATION_ID, _PUBLIC_KEY and _BOT_TOKEN")
            }
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            do {
                let api = DiscordAPI(configuration: configuration, client: client)
                let answer = try await api.registerCommands(SlashCommand.tally, guild: guild)
                try await client.shutdown()
                guard (200..<300).contains(answer.status) else {
                    throw ValidationError("Discord refused the commands: \(answer.status) \(answer.body.prefix(300))")
                }
                let paths = SlashCommand.tally.flatMap(\.paths).count
                print(
                    "registered \(SlashCommand.tally.count) commands (\(paths) command paths) "
                        + (guild.map { "in guild \($0)" } ?? "globally"))
            } catch {
                try? await client.shutdown()
                throw error
            }
        }
    }
}
