import Glibc

/// The exclusive OS-level lock that makes one writer per partition a property of the storage.
///
/// `flock(LOCK_EX | LOCK_NB)` on the partition's `LOCK` file; the holder writes its pid into the
/// file so a refused opener can say who holds it. The kernel drops the lock when the holder exits,
/// however it exits, so a killed writer never leaves a partition locked.
package final class PartitionLock: Sendable {
    private let file: FileDescriptor

    package static let fileName = "LOCK"

    package init(directory: String, partition: PartitionID) throws {
        let path = FileSystem.join(directory, PartitionLock.fileName)
        let file = try FileDescriptor(path: path, mode: .createReadWrite)
        if flock(file.fd, LOCK_EX | LOCK_NB) != 0 {
            let reason = errno
            let owner = (try? FileSystem.readAll(path)).flatMap {
                String(decoding: $0, as: UTF8.self).trimmingWhitespace()
            }
            if reason == EWOULDBLOCK {
                let who = owner.map { $0.isEmpty ? "another writer" : "pid \($0)" } ?? "another writer"
                throw EventLogError(
                    .locked, "partition \(partition) is already open for writing by \(who)", path: path)
            }
            throw FileDescriptor.error(.io, "cannot lock partition \(partition)", path: path)
        }
        let pid = Array("\(getpid())\n".utf8)
        try file.truncate(to: 0)
        try file.write(pid, at: 0)
        self.file = file
    }

    /// Releases the lock. Closing the descriptor releases it too; this makes the moment explicit.
    package func release() {
        _ = flock(file.fd, LOCK_UN)
        file.close()
    }
}

extension String {
    package func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s.removeFirst() }
        while let c = s.last, c.isWhitespace { s.removeLast() }
        return String(s)
    }
}
