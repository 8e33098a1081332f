import ArgumentParser
import Domain
import EventLog
import Foundation
import Shard

/// `tally keys create|list|revoke`: the per-guild API keys of a data directory.
struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Manage per-guild API keys: each allows commands and audit reads for one guild only.",
        discussion: """
            Keys are stored as their SHA-256 in DIR/keys.json (mode 0600); a running server sees a change at \
            once. Clients send a key as Authorization: Bearer <key>.
            """,
        subcommands: [Create.self, List.self, Revoke.self]
    )

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a key for one guild and print it (it is shown only this once).")
        @Option(help: "The data directory.") var data: String = "./tally-data"
        @Option(help: "The guild (Discord snowflake) the key is for.") var guild: String

        func run() throws {
            guard let id = Snowflake.parse(guild) else {
                throw ValidationError("--guild must be a Discord snowflake, not \(guild)")
            }
            _ = try DataDirectory.open(path: data)
            let (entry, key) = try GuildKeyStore(dataDirectory: data).create(guild: GuildID(id), now: .now)
            print("key \(entry.id) for guild \(entry.guild): \(key)")
            print("(shown only now: Tally keeps its SHA-256 alone; revoke with `tally keys revoke \(entry.id)`)")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the keys: id, guild, creation time.")
        @Option(help: "The data directory.") var data: String = "./tally-data"

        func run() throws {
            let keys = try GuildKeyStore(dataDirectory: data).list()
            if keys.isEmpty { print("no keys") }
            let format = Date.ISO8601FormatStyle()
            for key in keys {
                let created = format.format(Date(timeIntervalSince1970: Double(key.createdMs) / 1000))
                print("\(key.id)  guild \(key.guild)  created \(created)")
            }
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key by its id (from `tally keys list`).")
        @Option(help: "The data directory.") var data: String = "./tally-data"
        @Argument(help: "The key's id.") var id: String

        func run() throws {
            guard try GuildKeyStore(dataDirectory: data).revoke(id: id) else {
                FileHandle.standardError.write(Data("Error: no key has the id \(id) (see `tally keys list`)\n".utf8))
                throw ExitCode(1)
            }
            print("revoked \(id)")
        }
    }
}
