public import ArgumentParser
public import Logging
import Roles

@main
struct TallyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tally",
        abstract: "Tally: an event-sourced, sharded back end for live-streaming community bots.",
        subcommands: [
            LogCommand.self, SimulateCommand.self, ProjectCommand.self, RebuildCommand.self, BackupCommand.self,
            RestoreCommand.self, StatusCommand.self, AuditCommand.self,
            RaffleCommand.self, SlotsCommand.self, ServeCommand.self, CoordinatorCommand.self, ShardCommand.self,
            ClusterCommand.self, LoadgenCommand.self, BenchCommand.self, StoreCommand.self, KickCommand.self,
            LinkCommand.self, DiscordCommand.self, ImportLegacyCommand.self, OverlayCommand.self, KeysCommand.self,
        ]
    )
}

/// Options every command that logs shares.
struct LoggingOptions: ParsableArguments {
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .notice

    @Option(help: "Log format: text (one readable line per message) or json (one JSON object per line).")
    var logFormat: LogFormat = .text

    enum LogFormat: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    /// Bootstraps logging to standard error once and returns the root logger.
    func makeLogger(_ label: String = "tally") -> Logger {
        LoggingBootstrap.once(level: logLevel, format: logFormat)
        return Logger(label: label)
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

enum LoggingBootstrap {
    nonisolated(unsafe) private static var done = false
    static func once(level: Logger.Level, format: LoggingOptions.LogFormat) {
        guard !done else { return }
        done = true
        LoggingSystem.bootstrap { label in
            switch format {
            case .text:
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            case .json:
                var handler = JSONLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        }
    }
}
