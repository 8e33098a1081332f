import ArgumentParser
import AsyncHTTPClient
import EventLog
import Foundation
import Kick
import NIOCore
import Roles

/// `tally kick …`: connect a guild to its Kick channel and (re)create the channel's event
/// subscriptions, through a running service.
struct KickCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kick",
        abstract: "Connect guilds to Kick channels and manage their webhook subscriptions.",
        subcommands: [Connect.self, Subscribe.self]
    )

    /// Where the service is and how to authorize with it.
    struct ServiceOptions: ParsableArguments {
        @Option(help: "The service's base URL.") var url: String = "http://127.0.0.1:8080"
        @Option(help: "The operator token (default: TALLY_OPERATOR_TOKEN).") var token: String?
        @Option(help: "The guild (a Discord snowflake).") var guild: UInt64

        /// Posts one command; prints what the service answered and fails on an error status.
        func send(_ json: String) async throws {
            let token = token ?? ProcessInfo.processInfo.environment["TALLY_OPERATOR_TOKEN"] ?? ""
            var request = HTTPClientRequest(url: "\(url)/v1/guilds/\(guild)/commands")
            request.method = .POST
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: json))
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            let body = String(buffer: try await response.body.collect(upTo: 1 << 20))
            guard response.status.code == 200 else {
                throw ValidationError("the service answered \(response.status.code): \(body)")
            }
            print(body)
        }
    }

    struct Connect: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Connect a guild to a Kick channel; its event subscriptions are then created through the outbox.")
        @OptionGroup var service: ServiceOptions
        @Option(help: "The channel's broadcaster user id on Kick.") var broadcaster: UInt64
        @Option(help: "The channel's slug (kick.com/<slug>).") var slug: String

        func run() async throws {
            let key = "cli-connect-\(service.guild)-\(broadcaster)-\(Timestamp.now.rawValue)"
            try await service.send(
                #"{"type":"connect_kick_channel","key":"\#(key)","broadcaster_user_id":\#(broadcaster),"slug":"\#(slug)"}"#
            )
        }
    }

    struct Subscribe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create the connected channel's event subscriptions again (chat, live status, subs, gifts).")
        @OptionGroup var service: ServiceOptions

        func run() async throws {
            try await service.send(
                #"{"type":"subscribe_kick_events","key":"cli-subscribe-\#(service.guild)-\#(Timestamp.now.rawValue)"}"#)
        }
    }
}

/// `tally link url`: the link a viewer opens to link their Kick account to their Discord account.
struct LinkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "link",
        abstract: "Account links between Discord and Kick.",
        subcommands: [URLCommand.self]
    )

    struct URLCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "url", abstract: "Print a signed, expiring link for one Discord user of one guild.")
        @Option(help: "The data directory whose deployment secret signs the link.") var data: String = "./tally-data"
        @Option(help: "The guild (a Discord snowflake).") var guild: UInt64
        @Option(help: "The Discord user (a snowflake).") var user: UInt64
        @Option(help: "The service's public base URL.") var publicURL: String = "http://127.0.0.1:8080"
        @Option(help: "Minutes the link stays valid.") var minutes: Int64 = 15

        func validate() throws {
            guard (1...60).contains(minutes) else { throw ValidationError("--minutes must be 1 to 60") }
        }

        func run() async throws {
            let secrets = try Secrets.load(dataDirectory: data)
            let token = LinkToken.make(
                guild: GuildID(guild), user: user, raffleSecret: secrets.raffleSecret, now: .now, seconds: minutes * 60)
            print("\(publicURL)/v1/link/start?token=\(token)")
        }
    }
}
