import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A throwaway PostgreSQL server for tests: its own cluster in a temporary directory, listening on a
/// free loopback port only, trusting loopback connections, stopped and removed at the end.
///
/// `PostgresServer.shared()` is one server per test process (started on first use, stopped when the
/// process exits); `PostgresServer.start()` is a server of the caller's own (stopped by `stop()` or
/// when released), for tests that restart or kill it. `createDatabase()` gives each test a fresh
/// database on either.
///
/// The binaries are Debian's (`/usr/lib/postgresql/<version>/bin`, the newest installed), else
/// `initdb` and `pg_ctl` on `PATH`, else the directory named by `TALLY_PG_BIN`. PostgreSQL refuses to
/// run as root, so as root the cluster belongs to the `postgres` user and the server commands run
/// through `runuser`. A watchdog process stops the server and removes its directory if the test
/// process dies without doing so (a crash, SIGKILL).
///
/// When the server cannot start, the error says why (missing package, `initdb` or `pg_ctl` output and
/// the server log's tail): tests needing PostgreSQL fail with that message, never skip.
public final class PostgresServer: Sendable {
    /// Knobs of a throwaway server.
    public struct Configuration: Sendable {
        /// Whether the server flushes to disk (`fsync = on`). Default `false`: a test server survives
        /// the crash of its processes (the operating system keeps the written pages) but not of the
        /// machine, which is all a test needs, and commits are much faster.
        public var durable: Bool = false
        /// `max_connections`. Default 200.
        public var maxConnections: Int = 200
        /// The directory holding `initdb` and `pg_ctl`. Default `nil`: found as described on the type.
        public var binDirectory: String? = nil

        public init() {}
    }

    /// The temporary directory holding the cluster (`data/`), its socket (`sock/`) and log.
    public let directory: String
    /// The loopback address the server listens on.
    public let host = "127.0.0.1"
    /// The port the server listens on.
    public let port: Int
    /// The superuser, trusted without a password on loopback.
    public let user = "postgres"
    /// The directory of the binaries used.
    public let binDirectory: String
    /// `postgres --version` of the binaries used, e.g. `postgres (PostgreSQL) 15.8`.
    public let version: String

    private let state: Mutex<State>
    private let runAsPostgres: Bool

    private struct State {
        var stopped = false
        var watchdog: pid_t?
        var databases = 0
    }

    private init(directory: String, port: Int, binDirectory: String, version: String, runAsPostgres: Bool) {
        self.directory = directory
        self.port = port
        self.binDirectory = binDirectory
        self.version = version
        self.runAsPostgres = runAsPostgres
        self.state = Mutex(State())
    }

    deinit { stop() }

    /// The data directory of the cluster.
    public var dataDirectory: String { directory + "/data" }
    /// The server's log file.
    public var logFile: String { directory + "/server.log" }

    // MARK: - Starting

    /// Starts a server of the caller's own.
    ///
    /// - Throws: `PostgresServerError` naming what failed (binaries not found, `initdb`, `pg_ctl start`
    ///   with the server log's tail).
    public static func start(_ configuration: Configuration = Configuration()) throws -> PostgresServer {
        let bin = try findBinaries(configuration.binDirectory)
        let asPostgres = geteuid() == 0
        let version =
            (try? runTool(bin + "/postgres", ["--version"], asPostgres: false, in: "/"))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "unknown"
        let directory = try makeDirectory(asPostgres: asPostgres)
        do {
            try runTool(
                bin + "/initdb",
                [
                    "-D", directory + "/data", "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C",
                    "--no-sync", "--no-instructions",
                ], asPostgres: asPostgres, in: directory)
            // Trust on loopback (and the private socket) only; nothing else may connect.
            try write(
                "local all all trust\nhost all all 127.0.0.1/32 trust\n", to: directory + "/data/pg_hba.conf",
                asPostgres: asPostgres)
            let originalConf: String
            do {
                originalConf = try String(contentsOfFile: directory + "/data/postgresql.conf", encoding: .utf8)
            } catch {
                throw PostgresServerError("could not read the new cluster's postgresql.conf: \(error)")
            }
            var lastError: PostgresServerError?
            // A free port can be taken by another process between choosing and binding it: try again.
            for _ in 0..<5 {
                let port = try freeLoopbackPort()
                let conf = """

                    # Tally test harness
                    listen_addresses = '127.0.0.1'
                    port = \(port)
                    unix_socket_directories = '\(directory)/sock'
                    max_connections = \(configuration.maxConnections)
                    fsync = \(configuration.durable ? "on" : "off")
                    full_page_writes = \(configuration.durable ? "on" : "off")
                    logging_collector = off

                    """
                try write(originalConf + conf, to: directory + "/data/postgresql.conf", asPostgres: asPostgres)
                let server = PostgresServer(
                    directory: directory, port: port, binDirectory: bin, version: version, runAsPostgres: asPostgres)
                do {
                    try server.pgctl(["start", "-w", "-t", "60", "-l", server.logFile])
                    server.startWatchdog()
                    return server
                } catch let error as PostgresServerError {
                    server.state.withLock { $0.stopped = true }  // nothing to stop; keep the directory
                    lastError = error
                    let log = (try? String(contentsOfFile: server.logFile, encoding: .utf8)) ?? ""
                    guard log.contains("could not bind") || log.contains("already in use") else { break }
                }
            }
            throw lastError ?? PostgresServerError("pg_ctl start failed")
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
    }

    private static let sharedServer: Result<PostgresServer, PostgresServerError> = {
        do {
            let server = try start()
            atexit { PostgresServer.stopShared() }
            return .success(server)
        } catch let error as PostgresServerError {
            return .failure(error)
        } catch {
            return .failure(PostgresServerError("could not start PostgreSQL: \(error)"))
        }
    }()

    private static func stopShared() {
        if case .success(let server) = sharedServer { server.stop() }
    }

    /// The server shared by every test of this process: started on first use, stopped and removed
    /// when the process exits.
    ///
    /// - Throws: `PostgresServerError` (the same one on every call) when it could not start.
    public static func shared() throws -> PostgresServer {
        try sharedServer.get()
    }

    // MARK: - Databases

    /// Creates a new, empty database named after `label` (made unique) owned by the superuser.
    public func createDatabase(_ label: String = #function) throws -> PostgresTestDatabase {
        let number = state.withLock { state in
            state.databases += 1
            return state.databases
        }
        let safe = String(label.lowercased().filter { $0.isLetter || $0.isNumber }.prefix(40))
        let name = "t\(number)_\(safe)_\(UUID().uuidString.prefix(6).lowercased())"
        try Self.runTool(
            binDirectory + "/createdb", ["-h", host, "-p", String(port), "-U", user, name], asPostgres: false,
            in: directory)
        return PostgresTestDatabase(host: host, port: port, user: user, name: name)
    }

    /// Runs SQL through `psql` (stops at the first error), for test setup that needs no driver.
    @discardableResult
    public func psql(_ sql: String, database: PostgresTestDatabase) throws -> String {
        try Self.runTool(
            binDirectory + "/psql",
            [
                "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", host, "-p", String(port), "-U", user, "-d", database.name,
                "-c", sql,
            ], asPostgres: false, in: directory)
    }

    // MARK: - Stopping

    /// Restarts the server (`pg_ctl restart -m MODE`), e.g. to test reconnection. `mode` is `fast`
    /// (default), `smart` or `immediate`.
    public func restart(mode: String = "fast") throws {
        try pgctl(["restart", "-w", "-t", "60", "-m", mode, "-l", logFile])
    }

    /// Stops the server at once (`pg_ctl stop -m immediate`) and removes its directory. Safe to call
    /// more than once.
    public func stop() {
        let watchdog: pid_t? = state.withLock { state in
            guard !state.stopped else { return nil }
            state.stopped = true
            return state.watchdog ?? -1
        }
        guard let watchdog else { return }
        try? pgctl(["stop", "-w", "-t", "30", "-m", "immediate"])
        if watchdog > 0 {
            kill(watchdog, SIGTERM)
            var status: Int32 = 0
            _ = waitpid(watchdog, &status, 0)
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Whether the server answers (`pg_ctl status`).
    public var isRunning: Bool {
        (try? pgctl(["status"])) != nil
    }

    // MARK: - Processes

    private func pgctl(_ arguments: [String]) throws {
        try Self.runTool(
            binDirectory + "/pg_ctl", ["-D", dataDirectory] + arguments, asPostgres: runAsPostgres, in: directory,
            logFile: logFile)
    }

    /// A detached shell that waits for this process to end and then stops the server and removes the
    /// directory: the cleanup that `stop()` would have done had the process not died first.
    private func startWatchdog() {
        let script = """
            while kill -0 \(getpid()) 2>/dev/null; do sleep 1; done
            pid=$(head -n 1 '\(dataDirectory)/postmaster.pid' 2>/dev/null)
            if [ -n "$pid" ]; then
              kill -QUIT "$pid" 2>/dev/null
              n=0; while kill -0 "$pid" 2>/dev/null && [ $n -lt 100 ]; do sleep 0.1; n=$((n+1)); done
            fi
            rm -rf '\(directory)'
            """
        guard let pid = try? Self.spawn("/usr/bin/setsid", ["sh", "-c", script], output: "/dev/null", in: "/") else {
            return
        }
        state.withLock { $0.watchdog = pid }
    }

    /// Runs `tool` (as the `postgres` user through `runuser` when `asPostgres`) and waits for it.
    ///
    /// Spawned and reaped with `posix_spawn` and `waitpid` rather than Foundation's `Process`, whose
    /// exit monitoring was seen to miss children here (a reaped-never zombie and a hung wait).
    @discardableResult
    private static func runTool(
        _ tool: String, _ arguments: [String], asPostgres: Bool, in directory: String, logFile: String? = nil
    ) throws -> String {
        let (path, argv) =
            asPostgres ? ("/usr/sbin/runuser", ["-u", "postgres", "--", tool] + arguments) : (tool, arguments)
        // Output goes to a file, not a pipe: a server started by pg_ctl must not hold our pipe open.
        let outputPath = "/tmp/tally-pg-out-" + UUID().uuidString.prefix(8).lowercased()
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        let pid = try spawn(path, argv, output: outputPath, in: directory)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw PostgresServerError("waiting for \(tool) failed (errno \(errno))") }
        }
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        // WIFEXITED and WEXITSTATUS, spelled out (they are macros).
        let exited = status & 0x7F == 0
        let code = (status >> 8) & 0xFF
        guard exited, code == 0 else {
            var message = "\((tool as NSString).lastPathComponent) \(arguments.joined(separator: " ")) failed "
            message += exited ? "(status \(code))" : "(signal \(status & 0x7F))"
            message += ": \(text.trimmingCharacters(in: .whitespacesAndNewlines))"
            if let logFile, let log = try? String(contentsOfFile: logFile, encoding: .utf8) {
                message += "\nserver log (tail):\n" + log.split(separator: "\n").suffix(20).joined(separator: "\n")
            }
            throw PostgresServerError(message)
        }
        return text
    }

    /// Starts `path` with `arguments`, standard input from /dev/null and standard output and error to
    /// `output`, in `directory`; returns its pid.
    private static func spawn(_ path: String, _ arguments: [String], output: String, in directory: String) throws
        -> pid_t
    {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // `env -C` changes the directory (Glibc's posix_spawn_file_actions_addchdir_np is not imported).
        let argv: [UnsafeMutablePointer<CChar>?] =
            (["/usr/bin/env", "-C", directory, path] + arguments).map {
                strdup($0)
            } + [nil]
        defer { for p in argv { free(p) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, "/usr/bin/env", &actions, nil, argv, environ)
        guard result == 0 else {
            throw PostgresServerError("could not run \(path): \(String(cString: strerror(result)))")
        }
        return pid
    }

    private static func findBinaries(_ explicit: String?) throws -> String {
        let fm = FileManager.default
        func hasTools(_ dir: String) -> Bool {
            ["initdb", "pg_ctl", "postgres", "createdb", "psql"].allSatisfy {
                fm.isExecutableFile(atPath: dir + "/" + $0)
            }
        }
        if let explicit = explicit ?? ProcessInfo.processInfo.environment["TALLY_PG_BIN"] {
            guard hasTools(explicit) else {
                throw PostgresServerError(
                    "no PostgreSQL binaries (initdb, pg_ctl, postgres, createdb, psql) in \(explicit)")
            }
            return explicit
        }
        let root = "/usr/lib/postgresql"
        let versions = ((try? fm.contentsOfDirectory(atPath: root)) ?? [])
            .compactMap { Int($0) }.sorted(by: >)
        for version in versions where hasTools("\(root)/\(version)/bin") {
            return "\(root)/\(version)/bin"
        }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        for dir in path.split(separator: ":").map(String.init) where hasTools(dir) {
            return dir
        }
        throw PostgresServerError(
            "PostgreSQL is not installed: no initdb/pg_ctl in /usr/lib/postgresql/*/bin or on PATH "
                + "(install the Debian package `postgresql`: `make deps` as root, or apt-get install postgresql)")
    }

    private static func makeDirectory(asPostgres: Bool) throws -> String {
        // Short: the socket path (directory + /sock/.s.PGSQL.port) must fit in 107 bytes.
        let directory = "/tmp/tally-pg-" + UUID().uuidString.prefix(8).lowercased()
        let fm = FileManager.default
        do {
            try fm.createDirectory(atPath: directory + "/sock", withIntermediateDirectories: true)
            try fm.setAttributes([.posixPermissions: 0o700], ofItemAtPath: directory)
        } catch {
            throw PostgresServerError("could not create \(directory): \(error)")
        }
        if asPostgres {
            guard let account = getpwnam("postgres") else {
                try? fm.removeItem(atPath: directory)
                throw PostgresServerError(
                    "running as root but there is no `postgres` user to run PostgreSQL as "
                        + "(the Debian package `postgresql` creates it)")
            }
            for path in [directory, directory + "/sock"]
            where chown(path, account.pointee.pw_uid, account.pointee.pw_gid) != 0 {
                try? fm.removeItem(atPath: directory)
                throw PostgresServerError("could not give \(path) to the postgres user (errno \(errno))")
            }
        }
        return directory
    }

    /// Writes `text` to `path`, owned by the cluster's owner.
    private static func write(_ text: String, to path: String, asPostgres: Bool) throws {
        do {
            try text.write(toFile: path, atomically: false, encoding: .utf8)
        } catch {
            throw PostgresServerError("could not write \(path): \(error)")
        }
        if asPostgres, let account = getpwnam("postgres") {
            _ = chown(path, account.pointee.pw_uid, account.pointee.pw_gid)
        }
    }

    public static func freeLoopbackPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw PostgresServerError("socket() failed (errno \(errno))") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                bind(fd, generic, length) == 0 && getsockname(fd, generic, &length) == 0
            }
        }
        guard bound else { throw PostgresServerError("could not find a free loopback port (errno \(errno))") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// One database on a `PostgresServer`.
public struct PostgresTestDatabase: Sendable {
    public let host: String
    public let port: Int
    public let user: String
    public let name: String

    /// `postgresql://postgres@127.0.0.1:PORT/NAME`.
    public var dsn: String { "postgresql://\(user)@\(host):\(port)/\(name)" }
}

/// Why a test PostgreSQL server could not start (or a command against it failed).
public struct PostgresServerError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "PostgreSQL test server: " + message }
}
