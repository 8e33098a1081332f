import EventLog
import Foundation
public import Hummingbird
import Logging
import Metrics
import Projections
public import ServiceLifecycle
import Synchronization

/// Online rebuilds asked for over the admin API (`POST /v1/admin/rebuilds`): one job at a time, its
/// partitions one after another, each rebuilt by the node that owns it while it keeps serving.
///
/// A job's full diff is written to `DIR/reports/rebuild-<id>.json`; its progress is in
/// `GET /v1/admin/rebuilds/<id>` and in `/metrics` (`tally_rebuilds_running`,
/// `tally_rebuild_partitions_remaining`, `tally_rebuild_applied_events`, `tally_rebuild_target_offset`,
/// `tally_rebuilds_total{outcome}`, `tally_rebuild_people_changed`).
public final class RebuildJobs: Service, Sendable {
    /// What an operator asks for.
    public struct Request: Sendable, Codable {
        /// Projections to build from offset 0 (nil or empty: all).
        public var projections: [String]?
        /// Only the partition holding this guild, and only its changes in the answer.
        public var guild: String?

        public init(projections: [String]? = nil, guild: String? = nil) {
            self.projections = projections
            self.guild = guild
        }

        enum CodingKeys: String, CodingKey { case projections, guild }

        /// A field given as `null` is refused (leave it out instead), as everywhere in the API.
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            for key in [CodingKeys.projections, .guild] where c.contains(key) {
                guard try c.decodeNil(forKey: key) else { continue }
                throw DecodingError.valueNotFound(
                    String.self, .init(codingPath: [key], debugDescription: "\(key.stringValue) is null"))
            }
            projections = try c.decodeIfPresent([String].self, forKey: .projections)
            guild = try c.decodeIfPresent(String.self, forKey: .guild)
        }
    }

    /// One partition of a job.
    public struct PartitionStatus: Sendable, Codable, Equatable {
        public var partition: Int
        public var node: String
        /// queued, building, catching_up, swapping, comparing, done, failed.
        public var phase: String
        public var applied: UInt64
        public var target: UInt64
        /// The offset of the swap (the diff is as of it).
        public var offset: UInt64?
        /// Present when the replaced read models were behind the swap (they could not follow the log):
        /// the offset they reflected, so the diff also holds what the events since did.
        public var oldOffset: UInt64?
        public var peopleChanged: Int?
        public var seconds: Double?
        public var error: String?

        enum CodingKeys: String, CodingKey {
            case partition, node, phase, applied, target, offset, seconds, error
            case peopleChanged = "people_changed"
            case oldOffset = "old_offset"
        }
    }

    /// One changed person: column → [old, new] (null where the row did not exist).
    public struct PersonChange: Sendable, Codable, Equatable {
        public var guild: String
        public var person: String
        public var changes: [String: [Int64?]]
    }

    /// Rows of other tables that differ, per guild and table.
    public struct RowChange: Sendable, Codable, Equatable {
        public var guild: String
        public var table: String
        public var rows: Int
    }

    /// A job as the API shows it.
    public struct Job: ResponseCodable, Sendable {
        public var id: String
        /// queued, running, done, failed.
        public var state: String
        public var projections: [String]
        public var guild: String?
        public var startedAtMs: Int64
        public var finishedAtMs: Int64?
        public var partitions: [PartitionStatus]
        public var peopleChanged: Int
        public var guildsChanged: Int
        /// The first ``RebuildJobs/maxPeopleShown`` changed people; the report file has them all.
        public var people: [PersonChange]
        public var otherRows: [RowChange]
        /// The report file (full diff), once done.
        public var report: String?
        public var error: String?

        enum CodingKeys: String, CodingKey {
            case id, state, projections, guild, partitions, people, report, error
            case startedAtMs = "started_at_ms", finishedAtMs = "finished_at_ms"
            case peopleChanged = "people_changed", guildsChanged = "guilds_changed", otherRows = "other_rows"
        }
    }

    /// Changed people listed in an API answer (the report file lists all).
    public static let maxPeopleShown = 1_000

    private let nodes: [(name: String, node: ShardNode)]
    private let data: DataDirectory
    private let logger: Logger
    private let jobs = Mutex<[String: Job]>([:])
    private let queue: AsyncStream<String>
    private let enqueue: AsyncStream<String>.Continuation

    /// - Parameter nodes: the nodes of this process, by name (a job rebuilds what each serves).
    init(nodes: [(name: String, node: ShardNode)], data: DataDirectory, logger: Logger) {
        self.nodes = nodes
        self.data = data
        self.logger = logger
        (queue, enqueue) = AsyncStream.makeStream(of: String.self)
    }

    /// Queues a rebuild and returns its job.
    ///
    /// - Throws: ``APIError`` `invalid_value` for an unknown projection or a bad guild,
    ///   `rebuild_running` while another job is queued or running.
    public func start(_ request: Request) throws -> Job {
        let names = (request.projections ?? []).filter { !$0.isEmpty }
        let catalog = nodes.first?.node.configuration.catalog ?? .current
        if let unknown = names.first(where: { catalog.projection(named: $0) == nil }) {
            throw APIError(
                .invalidValue,
                "no projection named \(unknown); they are \(catalog.all.map(\.name).joined(separator: ", "))")
        }
        if let guild = request.guild, UInt64(guild) == nil {
            throw APIError(.invalidSnowflake, "the guild must be a Discord snowflake, not \(guild)")
        }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let id = "\(now)-\(String(UInt16.random(in: 0...UInt16.max), radix: 16))"
        let job = Job(
            id: id, state: "queued", projections: names.isEmpty ? catalog.all.map(\.name) : names, guild: request.guild,
            startedAtMs: now, partitions: [], peopleChanged: 0, guildsChanged: 0, people: [], otherRows: [])
        try jobs.withLock { jobs in
            if let busy = jobs.values.first(where: { $0.state == "queued" || $0.state == "running" }) {
                throw APIError(.rebuildRunning, "rebuild \(busy.id) is \(busy.state); wait for it to finish")
            }
            jobs[id] = job
        }
        enqueue.yield(id)
        return job
    }

    /// A job by id.
    public func job(_ id: String) -> Job? { jobs.withLock { $0[id] } }

    /// Every job this process ran or runs, newest first.
    public var all: [Job] { jobs.withLock { $0.values.sorted { $0.startedAtMs > $1.startedAtMs } } }

    public func run() async throws {
        for await id in queue.cancelOnGracefulShutdown() {
            await execute(id)
        }
    }

    private func update(_ id: String, _ body: (inout Job) -> Void) {
        jobs.withLock { jobs in if var job = jobs[id] { body(&job); jobs[id] = job } }
    }

    private func execute(_ id: String) async {
        guard let job = job(id) else { return }
        let only =
            job.projections.count == (nodes.first?.node.configuration.catalog.all.count ?? 0)
            ? nil : Set(job.projections)
        let guild = job.guild.flatMap { UInt64($0) }.map { GuildID($0) }
        // Who rebuilds what: each node the partitions it serves.
        var work: [(name: String, node: ShardNode, partition: PartitionID)] = []
        for (name, node) in nodes {
            for partition in await node.servedPartitions()
            where guild.map({ data.partition(for: $0) == partition }) ?? true {
                work.append((name, node, partition))
            }
        }
        work.sort { $0.partition < $1.partition }
        update(id) { job in
            job.state = "running"
            job.partitions = work.map {
                PartitionStatus(
                    partition: Int($0.partition.rawValue), node: $0.name, phase: "queued", applied: 0, target: 0)
            }
        }
        let running = Gauge(label: "tally_rebuilds_running")
        let remaining = Gauge(label: "tally_rebuild_partitions_remaining")
        let appliedGauge = Gauge(label: "tally_rebuild_applied_events")
        let targetGauge = Gauge(label: "tally_rebuild_target_offset")
        running.record(1)
        logger.notice("online rebuild started", metadata: ["rebuild.id": "\(id)", "partitions": "\(work.count)"])
        var diffs: [ReadModelDiff] = []
        var failure: String?
        for (index, item) in work.enumerated() {
            remaining.record(work.count - index)
            if Task.isCancelled {
                failure = "stopped: the service is shutting down"
                break
            }
            do {
                let result = try await item.node.rebuild(item.partition, only: only) { [weak self] p in
                    appliedGauge.record(Int64(p.applied))
                    targetGauge.record(Int64(p.target.rawValue))
                    self?.update(id) { job in
                        job.partitions[index].phase = p.phase.rawValue
                        job.partitions[index].applied = p.applied
                        job.partitions[index].target = p.target.rawValue
                    }
                }
                let diff = guild.map { result.diff.only($0) } ?? result.diff
                diffs.append(diff)
                update(id) { job in
                    job.partitions[index].phase = "done"
                    job.partitions[index].offset = result.offset.rawValue
                    if result.oldOffset != result.offset { job.partitions[index].oldOffset = result.oldOffset.rawValue }
                    job.partitions[index].peopleChanged = diff.people.count
                    job.partitions[index].seconds = result.seconds
                }
                logger.notice(
                    "partition rebuilt online",
                    metadata: [
                        "rebuild.id": "\(id)", "partition": "\(item.partition)", "offset": "\(result.offset)",
                        "people.changed": "\(diff.people.count)", "seconds": "\(result.seconds)",
                    ])
            } catch {
                failure = "partition \(item.partition): \(error)"
                update(id) { job in
                    job.partitions[index].phase = "failed"
                    job.partitions[index].error = "\(error)"
                }
                logger.error(
                    "online rebuild failed",
                    metadata: ["rebuild.id": "\(id)", "partition": "\(item.partition)", "error": "\(error)"])
                break
            }
        }
        remaining.record(0)
        running.record(0)
        let people = diffs.flatMap(\.people).map { change in
            PersonChange(
                guild: change.guild.description, person: change.person,
                changes: change.changes.mapValues { [$0.before, $0.after] })
        }
        let rows = diffs.flatMap { diff in
            diff.otherRows.flatMap { guild, tables in
                tables.map { RowChange(guild: guild.description, table: $0.key, rows: $0.value) }
            }
        }.sorted { ($0.guild, $0.table) < ($1.guild, $1.table) }
        let guilds = Set(diffs.flatMap(\.changedGuilds))
        Counter(label: "tally_rebuilds_total", dimensions: [("outcome", failure == nil ? "done" : "failed")])
            .increment()
        Gauge(label: "tally_rebuild_people_changed").record(people.count)
        // The report keeps every change; the answer lists the first ones. The job shows done only
        // once its report is written.
        guard var finished = self.job(id) else { return }
        finished.state = failure == nil ? "done" : "failed"
        finished.error = failure
        finished.finishedAtMs = Int64(Date().timeIntervalSince1970 * 1000)
        finished.peopleChanged = people.count
        finished.guildsChanged = guilds.count
        finished.people = people
        finished.otherRows = rows
        do { finished.report = try writeReport(finished) } catch {
            logger.error("cannot write the rebuild report", metadata: ["rebuild.id": "\(id)", "error": "\(error)"])
        }
        finished.people = Array(people.prefix(RebuildJobs.maxPeopleShown))
        update(id) { $0 = finished }
        logger.notice(
            "online rebuild finished",
            metadata: ["rebuild.id": "\(id)", "people.changed": "\(people.count)", "error": "\(failure ?? "")"])
    }

    /// Writes the job (with every change) to `DIR/reports/rebuild-<id>.json`, atomically.
    private func writeReport(_ job: Job) throws -> String {
        let directory = data.path + "/reports"
        try FileSystem.createDirectory(directory)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let path = directory + "/rebuild-\(job.id).json"
        try FileSystem.writeAtomically(Array(try encoder.encode(job)) + [0x0A], to: path)
        return path
    }
}
