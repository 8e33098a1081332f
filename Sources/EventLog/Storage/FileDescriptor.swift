import CFileIO
import Glibc
import Metrics
package import Synchronization

/// A thin owner of a POSIX file descriptor whose calls throw ``EventLogError`` naming the file.
///
/// Every call blocks; the log runs them on its writer thread or on callers' threads, never on the
/// cooperative pool (see the Concurrency article).
package final class FileDescriptor: @unchecked Sendable {
    package let path: String
    package private(set) var fd: Int32

    package struct Mode: Sendable {
        let flags: Int32
        package static let readOnly = Mode(flags: O_RDONLY)
        package static let readWrite = Mode(flags: O_RDWR)
        package static let createReadWrite = Mode(flags: O_RDWR | O_CREAT)
    }

    /// - Parameter permissions: the mode of a file `mode` creates.
    package init(path: String, mode: Mode, permissions: UInt32 = 0o644) throws {
        self.path = path
        let fd = open(path, mode.flags | O_CLOEXEC, mode_t(permissions))
        guard fd >= 0 else {
            let code: EventLogError.Code = errno == ENOENT ? .notFound : .io
            throw FileDescriptor.error(code, "cannot open file", path: path)
        }
        self.fd = fd
    }

    deinit { if fd >= 0 { _ = Glibc.close(fd) } }

    package func close() {
        if fd >= 0 { _ = Glibc.close(fd) }
        fd = -1
    }

    package func size() throws -> Int64 {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw FileDescriptor.error(.io, "cannot stat file", path: path) }
        return Int64(st.st_size)
    }

    /// Reads exactly `buffer.count` bytes at `position`, or fewer only at end of file.
    /// - Returns: the number of bytes read.
    package func read(into buffer: UnsafeMutableRawBufferPointer, at position: Int64) throws -> Int {
        var done = 0
        while done < buffer.count {
            let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(position) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw FileDescriptor.error(.io, "cannot read file", path: path, position: position + Int64(done))
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// Writes all of `bytes` at `position`.
    package func write(_ bytes: UnsafeRawBufferPointer, at position: Int64) throws {
        if let injected = FaultInjection.errno(for: .write, path: path) {
            errno = injected
            throw FileDescriptor.error(.io, "cannot write file", path: path, position: position)
        }
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(position) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw FileDescriptor.error(.io, "cannot write file", path: path, position: position + Int64(done))
            }
            done += n
        }
    }

    package func write(_ bytes: [UInt8], at position: Int64) throws {
        try bytes.withUnsafeBytes { raw in try write(raw, at: position) }
    }

    /// Flushes data (not necessarily metadata that reads do not need) to stable storage; its
    /// duration goes to `tally_fsync_duration_seconds`.
    package func sync() throws {
        let start = ContinuousClock.now
        let injected = FaultInjection.errno(for: .sync, path: path)
        let result = injected == nil ? fdatasync(fd) : -1
        let failure = injected ?? errno
        let elapsed = ContinuousClock.now - start
        Metrics.Timer(label: "tally_fsync_duration_seconds")
            .recordNanoseconds(
                elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
        guard result == 0 else {
            errno = failure
            throw FileDescriptor.error(.io, "fdatasync failed", path: path)
        }
    }

    /// Starts writing the given range's dirty pages to disk without waiting for them (Linux
    /// `sync_file_range` with `SYNC_FILE_RANGE_WRITE`): a hint that makes a later `fdatasync`
    /// shorter. Guarantees nothing about durability; errors are ignored.
    package func startWriteback(at position: Int64, length: Int64) {
        _ = tally_start_writeback(fd, position, length)
    }

    package func truncate(to length: Int64) throws {
        guard ftruncate(fd, off_t(length)) == 0 else {
            throw FileDescriptor.error(.io, "cannot truncate file", path: path, position: length)
        }
    }

    package static func error(
        _ code: EventLogError.Code, _ message: String, path: String, position: Int64? = nil,
        file: String = #fileID, line: Int = #line
    ) -> EventLogError {
        EventLogError(code, message, path: path, position: position, underlying: Errno(errno), file: file, line: line)
    }
}

/// Directory and path helpers over POSIX calls.
package enum FileSystem {
    package static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    package static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// Creates `path` and any missing parents.
    ///
    /// - Parameter durable: fsync the parent of every directory created, so that the new entries
    ///   survive a crash (a partition created and written, then lost with its directory, would lose
    ///   acknowledged appends).
    package static func createDirectory(_ path: String, durable: Bool = false) throws {
        var prefix = path.hasPrefix("/") ? "" : "."
        var created: [String] = []
        for part in path.split(separator: "/") {
            let parent = prefix.isEmpty ? "/" : prefix
            prefix += "/" + part
            if mkdir(prefix, 0o755) == 0 {
                created.append(parent)
            } else if errno != EEXIST {
                throw FileDescriptor.error(.io, "cannot create directory", path: prefix)
            }
        }
        if durable { for parent in created { try syncDirectory(parent) } }
    }

    package static func list(_ path: String) throws -> [String] {
        guard let dir = opendir(path) else {
            throw FileDescriptor.error(errno == ENOENT ? .notFound : .io, "cannot list directory", path: path)
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// Makes a directory's entries (new, renamed or removed files) durable.
    package static func syncDirectory(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw FileDescriptor.error(.io, "cannot open directory", path: path) }
        defer { _ = Glibc.close(fd) }
        guard fsync(fd) == 0 else { throw FileDescriptor.error(.io, "cannot sync directory", path: path) }
        directorySyncs.withLock { $0[path, default: 0] += 1 }
    }

    /// How many times each directory was fsynced, for tests (one counter per distinct directory).
    package static let directorySyncs = Mutex<[String: Int]>([:])

    /// Writes a small file atomically: temporary file, fsync, rename, fsync of the directory.
    ///
    /// The temporary file's name is unique to the call, so processes writing the same file at once do
    /// not trip over each other's (the last rename wins).
    ///
    /// - Parameter permissions: the file's mode.
    package static func writeAtomically(_ bytes: [UInt8], to path: String, permissions: UInt32 = 0o644) throws {
        let temporary = try writeTemporary(bytes, beside: path, permissions: permissions)
        guard Glibc.rename(temporary, path) == 0 else {
            let error = FileDescriptor.error(.io, "cannot rename file", path: temporary)
            _ = unlink(temporary)
            throw error
        }
        try syncDirectory(directory(of: path))
    }

    /// Creates a small file atomically unless it exists: temporary file, fsync, hard link to `path`
    /// (which fails if `path` exists), fsync of the directory. Of several processes creating the same
    /// file at once, exactly one succeeds; the others get false and read what it wrote.
    ///
    /// - Returns: false, having written nothing, when `path` already exists.
    package static func createExclusively(_ bytes: [UInt8], at path: String, permissions: UInt32 = 0o644) throws
        -> Bool
    {
        let temporary = try writeTemporary(bytes, beside: path, permissions: permissions)
        defer { _ = unlink(temporary) }
        guard Glibc.link(temporary, path) == 0 else {
            if errno == EEXIST { return false }
            throw FileDescriptor.error(.io, "cannot create file", path: path)
        }
        try syncDirectory(directory(of: path))
        return true
    }

    /// Writes `bytes` durably to a new temporary file beside `path` and returns its name.
    private static func writeTemporary(_ bytes: [UInt8], beside path: String, permissions: UInt32) throws -> String {
        let temporary = path + ".tmp.\(getpid()).\(UInt64.random(in: 0...UInt64.max))"
        let file = try FileDescriptor(path: temporary, mode: .createReadWrite, permissions: permissions)
        do {
            try file.write(bytes, at: 0)
            try file.sync()
        } catch {
            file.close()
            _ = unlink(temporary)
            throw error
        }
        file.close()
        return temporary
    }

    package static func rename(_ path: String, to newPath: String) throws {
        guard Glibc.rename(path, newPath) == 0 else {
            throw FileDescriptor.error(.io, "cannot rename file", path: path)
        }
    }

    package static func remove(_ path: String) throws {
        guard unlink(path) == 0 else { throw FileDescriptor.error(.io, "cannot remove file", path: path) }
    }

    package static func readAll(_ path: String) throws -> [UInt8] {
        let file = try FileDescriptor(path: path, mode: .readOnly)
        let size = Int(try file.size())
        var bytes = [UInt8](repeating: 0, count: size)
        let n = try bytes.withUnsafeMutableBytes { raw in try file.read(into: raw, at: 0) }
        return Array(bytes[..<n])
    }

    package static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    package static func join(_ a: String, _ b: String) -> String {
        a.hasSuffix("/") ? a + b : a + "/" + b
    }
}
