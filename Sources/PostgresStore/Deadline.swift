import Synchronization

/// A statement that did not end within its deadline: its outcome is unknown.
struct StatementTimeout: Error, CustomStringConvertible {
    let limit: Duration
    var description: String { "no answer from PostgreSQL within \(limit)" }
}

/// Runs `body` for at most `limit`, then throws ``StatementTimeout``.
///
/// A statement on a connection the server closed mid-flight can wait forever (seen after
/// `pg_ctl restart -m fast`): past the limit `body` is cancelled and left to end on its own, and the
/// caller goes on as for any unknown outcome. Not a task group: that would wait for the hung child.
func withDeadline<T: Sendable>(
    _ limit: Duration, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    let race = DeadlineRace<T>()
    return try await withCheckedThrowingContinuation { continuation in
        race.start(continuation, limit: limit, body: body)
    }
}

private final class DeadlineRace<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var tasks: [Task<Void, Never>] = []
    }
    private let state = Mutex(State())

    func start(
        _ continuation: CheckedContinuation<T, any Error>, limit: Duration,
        body: @escaping @Sendable () async throws -> T
    ) {
        state.withLock { $0.continuation = continuation }
        let work = Task {
            let result: Result<T, any Error>
            do { result = .success(try await body()) } catch { result = .failure(error) }
            self.finish(result)
        }
        let timer = Task {
            try? await Task.sleep(for: limit)
            if !Task.isCancelled { self.finish(.failure(StatementTimeout(limit: limit))) }
        }
        let finished = state.withLock { s in
            s.tasks = [work, timer]
            return s.continuation == nil
        }
        if finished { timer.cancel() }
    }

    private func finish(_ result: Result<T, any Error>) {
        let (continuation, tasks) = state.withLock { s in
            defer { s.continuation = nil }
            return (s.continuation, s.tasks)
        }
        guard let continuation else { return }
        for task in tasks { task.cancel() }
        continuation.resume(with: result)
    }
}
