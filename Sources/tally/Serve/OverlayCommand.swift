import ArgumentParser
import EventLog
import Shard

/// `tally overlay urls --guild G`: the OBS browser-source links of a guild's overlays.
struct OverlayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "overlay", abstract: "OBS overlays.", subcommands: [URLs.self])

    struct URLs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "urls", abstract: "Print a guild's overlay links (their key only reads; keep it private).")
        @Option(help: "The data directory whose deployment secret the key derives from.") var data: String =
            "./tally-data"
        @Option(help: "The guild (a Discord snowflake).") var guild: UInt64
        @Option(help: "The service's public base URL.") var publicURL: String = "http://127.0.0.1:8080"

        func run() async throws {
            let secrets = try Secrets.load(dataDirectory: data)
            let key = OverlayKind.key(secret: secrets.raffleSecret, guild: GuildID(guild))
            for kind in OverlayKind.all {
                print("\(kind.name)\t\(publicURL)/overlay/\(guild)/\(kind.name)?key=\(key)")
            }
        }
    }
}
