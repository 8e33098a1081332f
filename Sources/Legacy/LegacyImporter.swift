import Domain
public import EventLog
import Foundation
public import Logging
import Partition

/// Imports the old bot's rows into a data directory: per guild, plans the import events, decides
/// them through the guild's rules (``Domain/Command/importLegacy(_:)``) against the guild's state
/// folded from its partition (newest snapshot plus the log after it), and appends each guild's
/// events as one append — one batch, durable together or not at all.
///
/// The partition is opened for writing, so its lock keeps a running shard out (and the import out of
/// a partition a shard holds). A guild that fails (a bad row, Tally history without `merge`) is
/// reported and left untouched; the others are imported.
public struct LegacyImporter: Sendable {
    public struct Configuration: Sendable {
        public var guilds: [Int64] = []
        public var dryRun = false
        public var merge = false
        /// The deployment's raffle secret (`DIR/secrets.json`): an open period is imported under the
        /// commitment to the seed Tally derives from it.
        public var raffleSecret: [UInt8]
        /// The time the import is decided at. Default: now.
        public var now = Timestamp(milliseconds: Int64(Date().timeIntervalSince1970 * 1000))

        public init(raffleSecret: [UInt8]) { self.raffleSecret = raffleSecret }
    }

    public let data: DataDirectory
    public let configuration: Configuration
    let logger: Logger

    public init(data: DataDirectory, configuration: Configuration, logger: Logger) {
        self.data = data
        self.configuration = configuration
        self.logger = logger
    }

    /// Imports `legacy` (already read) and returns the report (its guilds in id order).
    ///
    /// - Throws: ``LegacyImportError`` with code `write` when a partition cannot be opened or an
    ///   append fails (the guild being appended is then absent: an append is one batch).
    public func run(_ legacy: LegacyData, report: inout LegacyReport) async throws {
        let guilds = configuration.guilds.isEmpty ? legacy.guilds.keys.sorted() : configuration.guilds.sorted()
        var byPartition: [PartitionID: [Int64]] = [:]
        for g in guilds where g > 0 { byPartition[data.partition(for: GuildID(UInt64(g))), default: []].append(g) }
        for g in guilds where g <= 0 {
            var r = LegacyGuildReport(guild: String(g))
            r.status = "failed"
            r.error = "discord_server_id \(g) is not a guild id"
            report.guilds.append(r)
        }
        for (partition, ids) in byPartition.sorted(by: { $0.key < $1.key }) {
            report.guilds += try await importPartition(partition, ids, legacy)
        }
        report.guilds.sort { (UInt64($0.guild) ?? 0) < (UInt64($1.guild) ?? 0) }
    }

    private func importPartition(_ partition: PartitionID, _ guilds: [Int64], _ legacy: LegacyData) async throws
        -> [LegacyGuildReport]
    {
        let directory = data.directory(of: partition)
        let log: PartitionLog?
        do {
            if configuration.dryRun {
                log =
                    FileManager.default.fileExists(atPath: directory)
                    ? try PartitionLog.openForReading(directory: directory, partition: partition, logger: logger) : nil
            } else {
                let fence = try PartitionManifest.load(directory: directory)?.fencedEpoch ?? 1
                log = try PartitionLog.openForWriting(
                    directory: directory, partition: partition, epoch: Epoch(max(fence, 1)), logger: logger)
            }
        } catch {
            throw LegacyImportError(.write, "cannot open partition \(partition): \(error)", underlying: error)
        }
        var processor = CommandProcessor()
        do {
            if let log {
                var model = PartitionModel()
                if let snapshot = PartitionModel.loadNewestSnapshot(
                    partition: partition, partitionDirectory: directory),
                    snapshot.nextOffset <= log.endOffset
                {
                    model = snapshot
                }
                processor = CommandProcessor(model: model)
                try log.forEachEvent(LogQuery(from: model.nextOffset)) { processor.restore($0) }
            }
        } catch {
            await log?.close()
            throw LegacyImportError(.write, "cannot read partition \(partition): \(error)", underlying: error)
        }
        var reports: [LegacyGuildReport] = []
        for g in guilds.sorted() {
            let guild = GuildID(UInt64(g))
            var report = LegacyGuildReport(guild: String(g))
            do {
                let state = processor.model.state(of: guild) ?? processor.model.emptyState(of: guild)
                let period = PeriodID(state.raffle.lastPeriod.rawValue + 1)
                let seed = RaffleDrawing.seed(secret: configuration.raffleSecret, guild: guild, period: period)
                let planner = LegacyPlanner(
                    guild: guild, data: legacy[g], globalSettings: legacy.globalSettings,
                    globalRoles: legacy.globalRoles, commitment: RaffleDrawing.commitment(for: seed),
                    now: configuration.now, merge: configuration.merge)
                let (batch, planned) = try planner.plan()
                report = planned
                let outcome: LegacyImportOutcome
                do {
                    outcome = try state.decideImport(batch, time: configuration.now)
                } catch let rejection as Rejection {
                    let code: LegacyImportError.Code = rejection.code == .historyExists ? .historyExists : .invalidRow
                    throw LegacyImportError(code, rejection.message, guild: UInt64(g))
                }
                report.skipped += outcome.skipped.map {
                    .init(row: $0.rows.map(\.description).joined(separator: ", "), reason: $0.reason)
                }
                report.summarize(outcome.events)
                report.rows = legacy[g].rowCount
                if outcome.events.isEmpty {
                    report.status = configuration.dryRun ? "dry_run" : "nothing_new"
                } else if configuration.dryRun {
                    report.status = "dry_run"
                } else {
                    try await append(outcome.events, guild: guild, log: log!, processor: &processor, report: &report)
                }
            } catch let error as LegacyImportError where error.code != .write {
                report.status = "failed"
                report.error = error.message
            } catch {
                await log?.close()
                throw error
            }
            reports.append(report)
        }
        await log?.close()
        return reports
    }

    /// Appends the guild's decided import events as one append (one batch).
    private func append(
        _ events: [DomainEvent], guild: GuildID, log: PartitionLog, processor: inout CommandProcessor,
        report: inout LegacyGuildReport
    ) async throws {
        let context = CommandContext(
            key: "legacy-import:\(guild.rawValue):\(configuration.now.rawValue)", time: configuration.now,
            origin: .operator)
        // Decided once, by `decideImport` (the rule `importLegacy` runs), for the report and the log alike.
        let outcome = processor.commit(events, guild: guild, context: context)
        do {
            _ = try await log.append(outcome.records)
        } catch {
            throw LegacyImportError(
                .write, "appending guild \(guild)'s \(outcome.records.count) events failed: \(error)",
                guild: guild.rawValue, underlying: error)
        }
        report.events = outcome.records.count
        report.status = "imported"
    }
}

extension LegacyGuildData {
    /// Rows of this guild (ledger rows counted).
    var rowCount: Int {
        links.count + watchtime.count + points.count + ledger.values.reduce(0) { $0 + Int($1.rows) } + settings.count
            + roles.count + items.count + sales.count + periods.count + tickets.count
            + ticketLog.values.reduce(0) { $0 + Int($1.rows) }
            + ticketConversions.values.reduce(0) { $0 + Int($1.rows) }
            + gifts.count + draws.count + exclusions.count
    }
}

extension LegacyGuildReport {
    /// Counts what the decided events hold.
    mutating func summarize(_ events: [DomainEvent]) {
        people = 0
        tickets = 0
        settings = 0
        items = 0
        periods = 0
        for event in events {
            switch event {
            case .legacyPersonImported(let p):
                people += 1
                if case .kickName = p.person { provisionalPeople += 1 } else { linkedPeople += 1 }
                if !p.kickName.isEmpty { links += 1 }
                minutes += p.minutes
                points += p.points
            case .legacyRecordImported(_, let inner):
                switch inner {
                case .settingChanged: settings += 1
                case .shopItemCreated: items += 1
                case .rafflePeriodOpened: periods += 1
                case .ticketsGranted(_, let n, _, _): tickets += n
                default: break
                }
            case .legacyOrderImported: orders += 1
            case .legacyPeriodImported: periods += 1
            default: break
            }
        }
        self.events = events.count
    }
}
