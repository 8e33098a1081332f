import Synchronization

/// A test hook that makes writes or syncs of chosen files fail as a full or broken disk would
/// (`ENOSPC`, `EIO`), so that tests drive the real writer, owner and HTTP paths through a failed
/// append. Nothing in Tally's executable arms it: there is no flag or setting that reaches it.
///
/// Faults match by path prefix (a partition's directory, say) and stay armed until ``clear(_:)``.
package enum FaultInjection {
    /// Which call a fault breaks.
    package struct Operation: Hashable, Sendable {
        let name: String
        /// `pwrite` fails.
        package static let write = Operation(name: "write")
        /// `fdatasync` fails.
        package static let sync = Operation(name: "sync")
    }

    private struct Fault: Sendable {
        var prefix: String
        var operation: Operation
        var errno: Int32
    }

    /// Checked first, without a lock, so an unarmed process pays one atomic load per call.
    private static let armed = Atomic<Bool>(false)
    private static let faults = Mutex<[Fault]>([])

    /// Makes every `operation` on a file whose path starts with `prefix` fail with `errno`.
    package static func fail(_ operation: Operation, under prefix: String, errno: Int32) {
        faults.withLock { $0.append(Fault(prefix: prefix, operation: operation, errno: errno)) }
        armed.store(true, ordering: .releasing)
    }

    /// Removes every fault armed under `prefix`.
    package static func clear(_ prefix: String) {
        let left = faults.withLock { f in
            f.removeAll { $0.prefix == prefix }
            return f.count
        }
        if left == 0 { armed.store(false, ordering: .releasing) }
    }

    /// The errno an armed fault gives `operation` on `path`, if any.
    static func errno(for operation: Operation, path: String) -> Int32? {
        guard armed.load(ordering: .acquiring) else { return nil }
        return faults.withLock { f in
            f.first { $0.operation == operation && path.hasPrefix($0.prefix) }?.errno
        }
    }
}
