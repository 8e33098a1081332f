public import Coordinator
import EventLog
public import Logging
import NIOCore
import PostgresNIO
public import ServiceLifecycle
import Synchronization

/// Decides which of several coordinators sharing a ``PostgresCoordinatorStore`` is active: the one
/// holding the PostgreSQL advisory lock `tallycrd` on a connection of its own.
///
/// Standing by, it tries the lock every ``every``. Once it has it, it raises the term
/// (``PostgresCoordinatorStore/raiseTerm(holder:)``, which fences every earlier coordinator's
/// writes) and activates the coordinator (``Coordinator/CoordinatorService/activate(term:now:)``:
/// it loads the state and renews every live shard's lease, so the takeover moves nothing).
///
/// Active, it checks its connection every ``every`` with a query that must answer within
/// ``timeout``. PostgreSQL releases a session's advisory locks when its connection ends, so a
/// connection that fails means the lock may already be another coordinator's: the coordinator
/// steps down at once. The lock of a coordinator that dies is released when its connection closes:
/// at once when the process dies (its kernel closes the socket), and within the TCP keepalive this
/// connection asks the server for (about 4 s) when its machine vanishes.
public struct PostgresCoordinatorElection: Service {
    public let store: PostgresCoordinatorStore
    public let service: CoordinatorService
    /// This coordinator's name, recorded with each term it raises.
    public let holder: String
    public let logger: Logger
    /// Wall-clock milliseconds, the unit of leases. Default: the system clock.
    public var now: @Sendable () -> Int64 = { Timestamp.now.rawValue }
    /// Time between tries of the lock, and between checks of its connection. Default 250 ms.
    public var every: Duration = .milliseconds(250)
    /// How long a check of the connection may take before the lock counts as lost. Default 2 s.
    public var timeout: Duration = .seconds(2)

    /// The advisory lock key (`'tallycrd'` as a 64-bit number); advisory locks are per database.
    static let lockKey: Int64 = 0x7461_6C6C_7963_7264

    public init(store: PostgresCoordinatorStore, service: CoordinatorService, holder: String, logger: Logger) {
        self.store = store
        self.service = service
        self.holder = holder
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do { try await campaign() } catch {
                if Task.isShuttingDownGracefully || Task.isCancelled { break }
                logger.warning(
                    "coordinator election failed; trying again",
                    metadata: ["error": "\(PostgresFailure(error))", "coordinator.holder": "\(holder)"])
            }
            do { try await pause() } catch { break }
        }
    }

    /// Stands by until the lock is this coordinator's, then holds it while the connection lasts;
    /// steps the coordinator down before the connection (and the lock) goes.
    private func campaign() async throws {
        let connection = try await PostgresConnection.connect(
            configuration: try store.store.configuration.connection(), id: 0, logger: logger)
        do {
            try await hold(connection)
        } catch {
            let reason = Task.isShuttingDownGracefully ? "shutting down" : "lost the coordinator lock"
            await service.stepDown(reason: reason)
            try? await connection.close()
            throw error
        }
        await service.stepDown(reason: "a newer coordinator took over")
        try? await connection.close()
    }

    private func hold(_ connection: PostgresConnection) async throws {
        // The server ends this session (releasing the lock) within about 4 s of this machine vanishing.
        _ = try await ask(
            connection,
            """
            SELECT set_config('tcp_keepalives_idle', '2', false), set_config('tcp_keepalives_interval', '1', false),
                set_config('tcp_keepalives_count', '2', false)
            """)
        while try await !tryLock(connection) { try await pause() }
        let term = try await store.raiseTerm(holder: holder)
        try await service.activate(term: term, now: now())
        // Active while the connection answers and no newer term deposed this coordinator.
        while await service.term == term {
            try await pause()
            _ = try await ask(connection, "SELECT 1")
        }
    }

    private func tryLock(_ connection: PostgresConnection) async throws -> Bool {
        let rows = try await ask(
            connection, "SELECT CASE WHEN pg_try_advisory_lock(\(Self.lockKey)) THEN 'yes' ELSE 'no' END")
        return try rows.first?.decode(String.self) == "yes"
    }

    /// Runs `sql` on the lock's connection; it must answer within ``timeout``, else the connection
    /// is closed (and with it the lock, were it held).
    ///
    /// Raced on the connection's event loop rather than in a task group: a query sent on a
    /// connection the server has just closed may never complete (postgres-nio drops it), and a
    /// group would wait for it forever.
    private func ask(_ connection: PostgresConnection, _ sql: String) async throws -> [PostgresRow] {
        guard !connection.isClosed else {
            throw EventLogError(.io, "the coordinator lock's connection was closed")
        }
        let answered = connection.eventLoop.makePromise(of: [PostgresRow].self)
        let settled = Mutex(false)
        let settle: @Sendable (Result<[PostgresRow], any Error>) -> Void = { result in
            let first = settled.withLock { done in
                defer { done = true }
                return !done
            }
            if first { answered.completeWith(result) }
        }
        connection.simpleQuery(sql).whenComplete(settle)
        let timer = connection.eventLoop.scheduleTask(in: .milliseconds(Int64(timeout / .milliseconds(1)))) {
            settle(.failure(EventLogError(.io, "the coordinator lock's connection did not answer within \(timeout)")))
        }
        defer { timer.cancel() }
        do { return try await answered.futureResult.get() } catch {
            try? await connection.close()
            throw error
        }
    }

    /// Waits ``every``; throws once the group shuts down.
    private func pause() async throws {
        try await cancelWhenGracefulShutdown { try await Task.sleep(for: every) }
    }
}
