import Crypto
public import EventLog
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Per-guild API keys (`tally keys create --guild G`): each lets its holder send commands and read
/// the audit trail of one guild, so a streamer's dashboard never holds the operator token.
///
/// Keys live in `DIR/keys.json` (mode 0600) as their SHA-256 only: the key itself is shown once,
/// when it is created, and a copy of the file lets no one act as a key holder. The file is replaced
/// atomically (temporary file, fsync, rename, directory fsync) under an exclusive lock on
/// `DIR/keys.lock`, so two `tally keys` runs never lose each other's change; a running server sees
/// a change at the next request that presents a key (it re-reads the file when its inode, size or
/// modification time change).
public final class GuildKeyStore: Sendable {
    /// One key as stored: never the key itself.
    public struct Entry: Codable, Sendable, Equatable {
        /// The key's public id (the part after `tally_` and before the secret), for listing and revoking.
        public var id: String
        public var guild: UInt64
        /// SHA-256 of the whole key text, hex.
        public var sha256: String
        /// When it was created (milliseconds since the epoch).
        public var createdMs: Int64

        enum CodingKeys: String, CodingKey {
            case id, guild, sha256
            case createdMs = "created_ms"
        }
    }

    struct File: Codable {
        var keys: [Entry]
    }

    /// What the server knows of the file: its identity when read, and its keys by digest.
    private struct Loaded {
        var stamp: [Int64] = []
        var byDigest: [String: Entry] = [:]
    }

    public let path: String
    private let loaded = Mutex(Loaded())

    /// The store of the data directory at `dataDirectory` (the file need not exist yet).
    public init(dataDirectory: String) {
        path = FileSystem.join(dataDirectory, "keys.json")
    }

    // MARK: Checking

    /// The guild a key with this SHA-256 belongs to, or nil when no live key has it.
    ///
    /// - Throws: ``ShardError`` `storage` when the file exists but cannot be read or parsed.
    public func guild(forDigest digest: [UInt8]) throws -> GuildID? {
        let stamp = Self.stamp(path)
        return try loaded.withLock { loaded in
            if loaded.stamp != stamp {
                loaded.byDigest = Dictionary(
                    try read().keys.map { ($0.sha256, $0) }, uniquingKeysWith: { first, _ in first })
                loaded.stamp = stamp
            }
            return loaded.byDigest[Hex.encode(digest)].map { GuildID($0.guild) }
        }
    }

    // MARK: Managing

    /// Creates a key for `guild`; returns its entry and the key text (shown once, never stored).
    ///
    /// - Throws: ``ShardError`` `storage` when the file cannot be read or written.
    public func create(guild: GuildID, now: Timestamp) throws -> (entry: Entry, key: String) {
        var rng = SystemRandomNumberGenerator()
        let id = Hex.encode((0..<6).map { _ in UInt8.random(in: 0...255, using: &rng) })
        let secret = Hex.encode((0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) })
        let key = "tally_\(id)_\(secret)"
        let entry = Entry(
            id: id, guild: guild.rawValue, sha256: Hex.encode(Array(SHA256.hash(data: Array(key.utf8)))),
            createdMs: now.rawValue)
        try modify { $0.keys.append(entry) }
        return (entry, key)
    }

    /// Every live key, oldest first.
    public func list() throws -> [Entry] { try read().keys }

    /// Revokes the key with `id`; returns whether there was one.
    public func revoke(id: String) throws -> Bool {
        var found = false
        try modify { file in
            let before = file.keys.count
            file.keys.removeAll { $0.id == id }
            found = file.keys.count < before
        }
        return found
    }

    private func read() throws -> File {
        guard FileSystem.exists(path) else { return File(keys: []) }
        do { return try JSONDecoder().decode(File.self, from: Data(try FileSystem.readAll(path))) } catch {
            throw ShardError(.storage, "cannot read the API keys in \(path)", underlying: error)
        }
    }

    /// Reads, changes and atomically rewrites the file under the lock.
    private func modify(_ change: (inout File) -> Void) throws {
        let lockPath = FileSystem.join(FileSystem.directory(of: path), "keys.lock")
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ShardError(.storage, "cannot open \(lockPath)") }
        defer { close(fd) }
        guard flock(fd, LOCK_EX) == 0 else { throw ShardError(.storage, "cannot lock \(lockPath)") }
        var file = try read()
        change(&file)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do {
            try FileSystem.writeAtomically(Array(try encoder.encode(file)) + [0x0A], to: path, permissions: 0o600)
        } catch {
            throw ShardError(.storage, "cannot write the API keys to \(path)", underlying: error)
        }
    }

    /// The file's inode, size and modification time (empty when it does not exist).
    private static func stamp(_ path: String) -> [Int64] {
        var info = stat()
        guard stat(path, &info) == 0 else { return [] }
        return [
            Int64(info.st_ino), Int64(info.st_size), Int64(info.st_mtim.tv_sec), Int64(info.st_mtim.tv_nsec),
        ]
    }
}
