import Domain
import EventLog
import Foundation
import Hummingbird
import HummingbirdTesting
import TallyTesting
import Testing

@testable import Shard

/// A partition whose append fails (a full or broken disk, injected into its files) answers 503 with
/// `Retry-After` meanwhile, is released, backs off, is acquired again and serves: nothing
/// acknowledged is lost and nothing refused is reported as done. Through the real router.
@Suite(.serialized, .timeLimit(.minutes(2))) struct ReacquireTests {
    static let guild = "5033164800000000000"

    struct Fault: Sendable, CustomTestStringConvertible {
        var operation: FaultInjection.Operation
        var errno: Int32
        var name: String
        var testDescription: String { name }
    }

    static let faults = [
        Fault(operation: .sync, errno: EIO, name: "fdatasync fails with EIO"),
        Fault(operation: .write, errno: ENOSPC, name: "write fails with ENOSPC"),
    ]

    static func body(_ key: String, delta: Int = 1) -> ByteBuffer {
        ByteBuffer(
            string:
                #"{"type":"adjust_points","key":"\#(key)","person":"1100000000000000001","delta":\#(delta),"reason":"r"}"#
        )
    }

    static func decode(_ response: TestResponse) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]) ?? [:]
    }

    @Test(arguments: faults) func aFailedAppendIsRecoveredByReacquiringAfterABackoff(_ fault: Fault) async throws {
        let dir = TemporaryDirectory()
        let data = try DataDirectory.open(path: dir.path, creatingWith: 2)
        var configuration = ShardNode.Configuration(data: data)
        configuration.reacquireBackoff.initial = .milliseconds(300)
        configuration.reacquireBackoff.maximum = .seconds(1)
        let node = ShardNode(configuration: configuration, logger: testLogger)
        let api = ShardAPI(node: node, operatorToken: "t", now: { Timestamp.now })
        let app = Application(router: api.router(), logger: testLogger)
        let partition = data.partition(for: GuildID(5_033_164_800_000_000_000))
        let directory = data.directory(of: partition)
        let auth: HTTPFields = [.authorization: "Bearer t"]
        let uri = "/v1/guilds/\(Self.guild)/commands"

        try await app.test(.router) { client in
            let first = try await client.execute(uri: uri, method: .post, headers: auth, body: Self.body("acked"))
            #expect(first.status == .ok)
            let acknowledged = try await node.owner(of: partition).log.endOffset

            FaultInjection.fail(fault.operation, under: directory, errno: fault.errno)
            defer { FaultInjection.clear(directory) }
            let refused = try await client.execute(uri: uri, method: .post, headers: auth, body: Self.body("refused"))
            #expect(refused.status == .serviceUnavailable)
            #expect((Self.decode(refused)["error"] as? [String: Any])?["code"] as? String == "unavailable")
            #expect(Int(refused.headers[.retryAfter] ?? "") ?? 0 >= 1, "a refusal says when to retry")
            // Meanwhile every command backs off, with Retry-After, instead of reaching the failed owner.
            let meanwhile = try await client.execute(uri: uri, method: .post, headers: auth, body: Self.body("other"))
            #expect(meanwhile.status == .serviceUnavailable)
            #expect(meanwhile.headers[.retryAfter] != nil)

            // While the disk stays broken, a reacquisition fails too and backs off again.
            try await Task.sleep(for: .milliseconds(350))
            #expect(await node.reacquireFailed() == [])
            let stillBroken = try await client.execute(uri: uri, method: .post, headers: auth, body: Self.body("other"))
            #expect(stillBroken.status == .serviceUnavailable)

            FaultInjection.clear(directory)
            // After the backoff the next request acquires the partition again (recovering the tail).
            var retried: TestResponse?
            for _ in 0..<40 {
                let answer = try await client.execute(
                    uri: uri, method: .post, headers: auth, body: Self.body("refused"))
                if answer.status == .ok {
                    retried = answer
                    break
                }
                #expect(answer.status == .serviceUnavailable)
                try await Task.sleep(for: .milliseconds(100))
            }
            let answer = try #require(retried, "the partition never served again")
            // The refused command was never done: retried with its key, it is decided anew, once.
            #expect(Self.decode(answer)["duplicate"] as? Bool == false)
            let again = try await client.execute(uri: uri, method: .post, headers: auth, body: Self.body("acked"))
            #expect(Self.decode(again)["duplicate"] as? Bool == true, "the acknowledged command is remembered")

            let owner = try await node.owner(of: partition)
            #expect(owner.log.endOffset == acknowledged.advanced(by: 1), "one event acknowledged before, one after")
            let people = try await client.execute(
                uri: "/v1/guilds/\(Self.guild)/people/1100000000000000001", method: .get)
            #expect(Self.decode(people)["points"] as? Int == 2)
        }
        await node.shutdown()
        #expect(!(try LogVerifier.verify(directory: directory, partition: partition).isCorrupt))
    }

    @Test func theTimerRoundReacquiresAFailedPartitionWithoutARequest() async throws {
        let dir = TemporaryDirectory()
        let data = try DataDirectory.open(path: dir.path, creatingWith: 1)
        var configuration = ShardNode.Configuration(data: data)
        configuration.reacquireBackoff.initial = .milliseconds(100)
        let node = ShardNode(configuration: configuration, logger: testLogger)
        let guild = GuildID(5_033_164_800_000_000_000)
        let directory = data.directory(of: PartitionID(0))
        let context = { (key: String) in CommandContext(key: key, time: Timestamp.now) }
        _ = try await node.handle(
            .adjustPoints(.discord(UserID(7)), delta: 1, reason: "r"), guild: guild, context: context("a"))
        FaultInjection.fail(.sync, under: directory, errno: EIO)
        await #expect(throws: ShardError.self) {
            try await node.handle(
                .adjustPoints(.discord(UserID(7)), delta: 1, reason: "r"), guild: guild, context: context("b"))
        }
        FaultInjection.clear(directory)
        try await Task.sleep(for: .milliseconds(150))
        #expect(await node.reacquireFailed() == [PartitionID(0)])
        let owner = try await node.owner(of: PartitionID(0))
        #expect(!owner.hasFailed)
        #expect(owner.log.endOffset == Offset(1), "the refused command's event was cut")
        #expect(await owner.state(of: guild)?.person(.discord(UserID(7))).points == 1)
        await node.shutdown()
    }
}
