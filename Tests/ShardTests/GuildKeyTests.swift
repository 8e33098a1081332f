import Crypto
import Domain
import EventLog
import Foundation
import Hummingbird
import HummingbirdTesting
import TallyTesting
import Testing

@testable import Shard

/// Per-guild API keys through the real router: a key allows commands, settings and the audit trail
/// of its guild only; public reads need nothing.
@Suite(.timeLimit(.minutes(2))) struct GuildKeyTests {
    typealias API = ShardAPITests
    static let g1 = GuildID(5_033_164_800_000_000_000)
    static let g2 = GuildID(5_033_164_833_214_693_377)

    struct Fixture {
        let directory = TemporaryDirectory()
        let keys: GuildKeyStore
        let app: Application<RouterResponder<BasicRequestContext>>

        init() throws {
            let data = try DataDirectory.open(path: directory.sub("data"), creatingWith: 4)
            keys = GuildKeyStore(dataDirectory: data.path)
            var api = ShardAPI(
                node: ShardNode(configuration: .init(data: data), logger: testLogger), operatorToken: API.token,
                now: { Timestamp(milliseconds: 1_796_083_200_000) })
            api.keys = keys
            app = Application(router: api.router(), logger: testLogger)
        }
    }

    static func bearer(_ token: String) -> HTTPFields { [.authorization: "Bearer \(token)"] }

    static func adjust(_ client: some TestClientProtocol, _ guild: GuildID, key: String, as token: String?)
        async throws -> TestResponse
    {
        try await client.execute(
            uri: "/v1/guilds/\(guild)/commands", method: .post, headers: token.map(bearer) ?? [:],
            body: API.json(["type": "adjust_points", "key": key, "person": API.alice, "delta": 5, "reason": "mod note"])
        )
    }

    @Test func aGuildKeyActsOnItsGuildOnlyAndTheAuditNeedsAKey() async throws {
        let f = try Fixture()
        let (entry1, key1) = try f.keys.create(guild: Self.g1, now: Timestamp(milliseconds: 1))
        let (_, key2) = try f.keys.create(guild: Self.g2, now: Timestamp(milliseconds: 2))
        try await f.app.test(.router) { client async throws in
            #expect(try await Self.adjust(client, Self.g1, key: "a", as: key1).status == .ok)
            #expect(try await Self.adjust(client, Self.g2, key: "b", as: key2).status == .ok)
            // Another guild's key: 403, not 401, and nothing appended.
            let other = try await Self.adjust(client, Self.g2, key: "c", as: key1)
            #expect(other.status == .forbidden)
            #expect((API.decode(other)["error"] as? [String: Any])?["code"] as? String == "forbidden")
            let settings = try await client.execute(
                uri: "/v1/guilds/\(Self.g2)/settings", method: .put, headers: Self.bearer(key1),
                body: API.json(["key": "s", "settings": ["leaderboard_default": 5]]))
            #expect(settings.status == .forbidden)
            // The audit trail: the operator token or the guild's key; a public read needs nothing.
            let audit = "/v1/guilds/\(Self.g1)/audit"
            #expect(try await client.execute(uri: audit, method: .get).status == .unauthorized)
            #expect(
                try await client.execute(uri: audit, method: .get, headers: Self.bearer("nope")).status == .unauthorized
            )
            #expect(try await client.execute(uri: audit, method: .get, headers: Self.bearer(key2)).status == .forbidden)
            let read = try await client.execute(uri: audit, method: .get, headers: Self.bearer(key1))
            #expect(read.status == .ok && String(buffer: read.body).contains("mod note"))
            #expect(try await client.execute(uri: audit, method: .get, headers: API.auth).status == .ok)
            for path in ["leaderboards/points", "people/\(API.alice)", "raffle", "settings"] {
                let r = try await client.execute(uri: "/v1/guilds/\(Self.g1)/\(path)", method: .get)
                #expect(r.status == .ok, "\(path) should be public")
            }
            // Revoked: the running server refuses the key at once.
            #expect(try f.keys.revoke(id: entry1.id))
            #expect(try await Self.adjust(client, Self.g1, key: "d", as: key1).status == .unauthorized)
            #expect(
                try await client.execute(uri: audit, method: .get, headers: Self.bearer(key1)).status == .unauthorized)
        }
    }

    @Test func keysAreStoredAsTheirDigestOnlyAndWrittenAtomically() throws {
        let f = try Fixture()
        let (entry, key) = try f.keys.create(guild: Self.g1, now: Timestamp(milliseconds: 7))
        let file = try String(contentsOfFile: f.keys.path, encoding: .utf8)
        #expect(!file.contains(key) && !file.contains(String(key.suffix(64))), "the key itself was stored")
        let digest = SHA256.hash(data: Array(key.utf8)).map { String(format: "%02x", $0) }.joined()
        #expect(file.contains(digest) && entry.sha256 == digest)
        let attributes = try FileManager.default.attributesOfItem(atPath: f.keys.path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect(!FileManager.default.fileExists(atPath: f.keys.path + ".tmp"))
        #expect(try f.keys.list() == [entry])
        #expect(try f.keys.guild(forDigest: Array(SHA256.hash(data: Array(key.utf8)))) == Self.g1)
        #expect(try !f.keys.revoke(id: "nothere"))
        // Two stores on one file (two `tally keys` runs) never lose each other's key.
        let other = GuildKeyStore(dataDirectory: FileSystemPath.directory(of: f.keys.path))
        _ = try other.create(guild: Self.g2, now: Timestamp(milliseconds: 8))
        _ = try f.keys.create(guild: Self.g2, now: Timestamp(milliseconds: 9))
        #expect(try f.keys.list().count == 3)
    }

    @Test func anUnreadableKeyFileIsAServerErrorNotAnOpenDoor() async throws {
        let f = try Fixture()
        try FileManager.default.createDirectory(atPath: f.keys.path, withIntermediateDirectories: true)
        try await f.app.test(.router) { client async throws in
            let response = try await Self.adjust(client, Self.g1, key: "x", as: "tally_abc_def")
            #expect(response.status == .internalServerError)
            // The operator token still works: it is checked before the keys.
            #expect(try await Self.adjust(client, Self.g1, key: "y", as: API.token).status == .ok)
        }
    }
}

/// The directory part of a path.
enum FileSystemPath {
    static func directory(of path: String) -> String { (path as NSString).deletingLastPathComponent }
}
