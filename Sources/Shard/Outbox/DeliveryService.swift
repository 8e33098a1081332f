import Domain
public import EventLog
public import Logging
import Metrics
public import ServiceLifecycle
import Synchronization

/// The outbox's worker for one node: sends every durable delivery of the partitions the node holds,
/// records each outcome as an event, and retries what failed for a passing reason.
///
/// Each partition is worked by its own child task, deliveries of a guild in order. A transient
/// failure (429, 5xx, no answer) waits with exponential backoff and jitter, never less than the
/// platform's `Retry-After`; a 401 records that delivery as failed and stops every delivery to that
/// platform until restart (the credentials need an operator); any other refusal is recorded as a
/// permanent failure with its reason. After a restart, exactly the deliveries without an outcome
/// are sent again.
public struct DeliveryService<C: Clock>: Service where C.Duration == Duration {
    public let node: ShardNode
    public let senders: [any DeliverySender]
    public let clock: C
    public let now: @Sendable () -> Timestamp
    public let logger: Logger
    /// Time between rounds. Default 100 ms.
    public var every: Duration = .milliseconds(100)
    /// The first retry's wait; each further one doubles, up to ``maximumBackoff``. Default 500 ms.
    public var initialBackoff: Duration = .milliseconds(500)
    /// Default 60 s.
    public var maximumBackoff: Duration = .seconds(60)

    public init(
        node: ShardNode, senders: [any DeliverySender], clock: C, now: @escaping @Sendable () -> Timestamp,
        logger: Logger
    ) {
        self.node = node
        self.senders = senders
        self.clock = clock
        self.now = now
        self.logger = logger
    }

    /// Retry schedule and stopped platforms, shared by the partitions' tasks.
    final class Schedule: Sendable {
        struct Entry {
            var attempts: Int
            var notBefore: C.Instant
        }
        let entries = Mutex<[String: Entry]>([:])
        let stopped = Mutex<Set<String>>([])
    }

    public func run() async throws {
        registerSeries()
        let schedule = Schedule()
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            await round(schedule)
            do { try await cancelWhenGracefulShutdown { try await clock.sleep(for: every) } } catch { return }
        }
    }

    /// Creates this worker's series at zero before anything happens: `rate()` and `increase()` (the
    /// dashboard's and alerts') see the first retry or failure, which a series born at 1 would hide.
    private func registerSeries() {
        for platform in Set(senders.map(\.platform.name)) {
            _ = Counter(label: "tally_outbox_retries_total", dimensions: [("platform", platform)])
            for reason in ["backoff", "retry_after"] {
                _ = Metrics.Timer(
                    label: "tally_outbox_retry_wait_seconds", dimensions: [("platform", platform), ("reason", reason)])
            }
            for outcome in ["delivered", "failed"] {
                _ = Counter(
                    label: "tally_outbox_deliveries_total", dimensions: [("platform", platform), ("outcome", outcome)])
            }
        }
    }

    /// One pass over every partition the node holds.
    func round(_ schedule: Schedule) async {
        let owners = await node.acquiredOwners()
        await withTaskGroup(of: Void.self) { group in
            for owner in owners {
                group.addTask { await work(owner, schedule) }
            }
        }
    }

    private func work(_ owner: PartitionOwner, _ schedule: Schedule) async {
        let waiting = await owner.durableDeliveries()
        var backlog: [String: Int] = [:]
        // Ordering keys (per guild) with an earlier delivery still waiting: later ones wait behind it.
        var blocked: Set<String> = []
        for (guild, delivery) in waiting {
            // A long backlog (rate limits) must not hold up a shutdown: the rest waits for the next start.
            if Task.isShuttingDownGracefully || Task.isCancelled { break }
            let platform = delivery.destination.platform
            backlog[platform.name, default: 0] += 1
            guard let sender = senders.first(where: { $0.platform == platform }) else { continue }
            guard !schedule.stopped.withLock({ $0.contains(platform.name) }) else { continue }
            let key = "\(guild)/\(delivery.id)"
            let order = delivery.destination.orderingKey.map { "\(guild)/\($0)" }
            if let order, blocked.contains(order) { continue }
            if let entry = schedule.entries.withLock({ $0[key] }), clock.now < entry.notBefore {
                if let order { blocked.insert(order) }
                continue
            }
            let attempt = await sender.send(delivery, guild: guild)
            switch attempt {
            case .delivered(let detail):
                await record(owner, guild, delivery, .delivered, detail, platform)
                schedule.entries.withLock { _ = $0.removeValue(forKey: key) }
            case .failed(let detail):
                await record(owner, guild, delivery, .failedPermanently, detail, platform)
                schedule.entries.withLock { _ = $0.removeValue(forKey: key) }
            case .unauthorized(let detail):
                schedule.stopped.withLock { _ = $0.insert(platform.name) }
                logger.critical(
                    "platform refused the bot's credentials: deliveries to it stop until restart",
                    metadata: ["platform": "\(platform)", "detail": "\(detail)"])
                await record(owner, guild, delivery, .failedPermanently, "unauthorized: \(detail)", platform)
            case .retry(let after, let detail):
                if let order { blocked.insert(order) }
                Counter(label: "tally_outbox_retries_total", dimensions: [("platform", platform.name)]).increment()
                let wait = schedule.entries.withLock { entries -> Duration in
                    let attempts = (entries[key]?.attempts ?? 0) + 1
                    var backoff = initialBackoff * (1 << min(attempts - 1, 16))
                    if backoff > maximumBackoff { backoff = maximumBackoff }
                    backoff = backoff * Double.random(in: 0.5...1.5)
                    if let after, after > backoff { backoff = after }
                    entries[key] = Schedule.Entry(attempts: attempts, notBefore: clock.now.advanced(by: backoff))
                    return backoff
                }
                // How long deliveries wait, and whether the platform asked for it (rate limits).
                Metrics.Timer(
                    label: "tally_outbox_retry_wait_seconds",
                    dimensions: [("platform", platform.name), ("reason", after == nil ? "backoff" : "retry_after")]
                )
                .recordNanoseconds(
                    wait.components.seconds * 1_000_000_000 + wait.components.attoseconds / 1_000_000_000)
                logger.warning(
                    "delivery will be retried",
                    metadata: [
                        "guild": "\(guild)", "delivery": "\(delivery.id)", "wait": "\(wait)", "detail": "\(detail)",
                    ])
            }
        }
        for (platform, count) in backlog {
            Gauge(
                label: "tally_outbox_backlog",
                dimensions: [("platform", platform), ("partition", "\(owner.partition)")]
            )
            .record(count)
        }
    }

    private func record(
        _ owner: PartitionOwner, _ guild: GuildID, _ delivery: Delivery, _ outcome: DeliveryOutcome, _ detail: String,
        _ platform: Destination.Platform
    ) async {
        let name = outcome == .delivered ? "delivered" : "failed"
        Counter(label: "tally_outbox_deliveries_total", dimensions: [("platform", platform.name), ("outcome", name)])
            .increment()
        do {
            _ = try await owner.handle(
                .recordDelivery(delivery.id, outcome: outcome, detail: detail), guild: guild,
                context: .internal("outbox:\(delivery.id):outcome", time: now()))
        } catch {
            // The outcome is not durable: the delivery stays waiting and is sent again.
            logger.error(
                "delivery outcome could not be recorded",
                metadata: ["guild": "\(guild)", "delivery": "\(delivery.id)", "error": "\(error)"])
        }
    }
}
