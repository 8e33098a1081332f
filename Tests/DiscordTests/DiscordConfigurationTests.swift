import Foundation
import Testing

@testable import Discord

/// The Discord app from the environment or files, never printed.
@Suite struct DiscordConfigurationTests {
    static let key = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"

    @Test func nothingSetMeansNoApp() throws {
        #expect(try DiscordConfiguration.fromEnvironment([:]) == nil)
    }

    @Test func valuesComeFromTheEnvironmentOrFilesAndAreNeverPrinted() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("discord-token-\(UUID().uuidString)")
        try Data("secret-bot-token\n".utf8).write(to: path)
        defer { try? FileManager.default.removeItem(at: path) }
        let configuration = try #require(
            try DiscordConfiguration.fromEnvironment([
                "TALLY_DISCORD_APPLICATION_ID": "123", "TALLY_DISCORD_PUBLIC_KEY": Self.key,
                "TALLY_DISCORD_BOT_TOKEN_FILE": path.path, "TALLY_DISCORD_API_BASE": "http://127.0.0.1:9",
            ]))
        #expect(configuration.botToken == "secret-bot-token")
        #expect(configuration.apiBase == "http://127.0.0.1:9")
        #expect(
            !configuration.description.contains("secret-bot-token") && !configuration.description.contains(Self.key))
    }

    @Test func anIncompleteOrInvalidAppIsAClearError() {
        #expect(throws: DiscordError.self) {
            try DiscordConfiguration.fromEnvironment(["TALLY_DISCORD_APPLICATION_ID": "123"])
        }
        #expect(throws: DiscordError.self) {
            try DiscordConfiguration.fromEnvironment([
                "TALLY_DISCORD_APPLICATION_ID": "123", "TALLY_DISCORD_PUBLIC_KEY": "not-hex",
                "TALLY_DISCORD_BOT_TOKEN": "t",
            ])
        }
        #expect(throws: DiscordError.self) {
            try DiscordConfiguration.fromEnvironment([
                "TALLY_DISCORD_APPLICATION_ID": "123", "TALLY_DISCORD_PUBLIC_KEY": Self.key,
                "TALLY_DISCORD_BOT_TOKEN_FILE": "/nonexistent/token",
            ])
        }
    }
}
