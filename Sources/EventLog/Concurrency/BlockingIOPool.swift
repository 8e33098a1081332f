import Foundation

/// A few dedicated threads for blocking file I/O, so that `async` APIs never block Swift's
/// cooperative thread pool with `pread` or `fsync`.
package final class BlockingIOPool: @unchecked Sendable {
    /// Shared by every log in the process: reads are short, and two threads match this machine.
    package static let shared = BlockingIOPool(threads: 2, name: "tally-io")

    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []  // guarded by `condition`

    package init(threads: Int, name: String) {
        for i in 0..<threads {
            let thread = Thread { [self] in self.work() }
            thread.name = "\(name)-\(i)"
            thread.start()
        }
    }

    /// Runs `body` on a pool thread and returns its result.
    package func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            submit { continuation.resume(with: Result { try body() }) }
        }
    }

    private func submit(_ job: @escaping @Sendable () -> Void) {
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    private func work() {
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            let job = jobs.removeFirst()
            condition.unlock()
            job()
        }
    }
}
