import AsyncHTTPClient
import Coordinator
import EventLog
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Roles
import Synchronization
import TallyTesting
import Testing

@testable import Shard

/// Every request gets an id: in the `X-Request-Id` answer header, in the request's log lines, and on
/// the request forwarded to another shard.
@Suite(.timeLimit(.minutes(1))) struct RequestIDTests {
    static let requestID = HTTPField.Name("X-Request-Id")!

    /// The ShardAPI router with a logger whose JSON lines land in `lines`.
    final class Fixture: Sendable {
        let directory = TemporaryDirectory()
        let lines = LineSink()
        let app: Application<RouterResponder<BasicRequestContext>>

        init() throws {
            let data = try DataDirectory.open(path: directory.sub("data"), creatingWith: 2)
            let node = ShardNode(
                configuration: .init(data: data), logger: Logger(label: "quiet") { _ in SwiftLogNoOpLogHandler() })
            let api = ShardAPI(node: node, operatorToken: "token", now: { Timestamp(milliseconds: 1_796_083_200_000) })
            let lines = self.lines
            var logger = Logger(label: "tally.http") { label in JSONLogHandler(label: label, write: lines.write) }
            logger.logLevel = .info
            app = Application(router: api.router(), logger: logger)
        }

        /// The parsed log lines that carry `id` as their request id.
        func lines(with id: String) -> [[String: Any]] {
            lines.lines.compactMap { line in
                let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                let metadata = object?["metadata"] as? [String: Any]
                return metadata?["hb.request.id"] as? String == id ? object : nil
            }
        }
    }

    @Test func aGeneratedIdIsAnsweredAndLogged() async throws {
        let f = try Fixture()
        try await f.app.test(.router) { client in
            let first = try await client.execute(uri: "/health", method: .get)
            let second = try await client.execute(uri: "/health", method: .get)
            let id = try #require(first.headers[Self.requestID])
            #expect(!id.isEmpty)
            #expect(second.headers[Self.requestID] != id, "each request has its own id")
            let logged = f.lines(with: id)
            #expect(logged.count == 1)
            #expect(logged.first?["message"] as? String == "request")
            #expect((logged.first?["metadata"] as? [String: Any])?["http.status"] as? String == "200")
        }
    }

    @Test func aSaneIncomingIdIsKeptEvenOnAnError() async throws {
        let f = try Fixture()
        try await f.app.test(.router) { client in
            let response = try await client.execute(
                uri: "/v1/guilds/5033164800000000000/commands", method: .post,
                headers: [Self.requestID: "proxy-7f3a:01.b_c"], body: ByteBuffer(string: "{}"))
            #expect(response.status == .unauthorized)
            #expect(response.headers[Self.requestID] == "proxy-7f3a:01.b_c")
            let logged = f.lines(with: "proxy-7f3a:01.b_c")
            #expect((logged.first?["metadata"] as? [String: Any])?["http.status"] as? String == "401")
        }
    }

    @Test(arguments: ["", String(repeating: "a", count: 129), "two words", "quote\"d", "line\nbreak", "ünï"])
    func anInsaneIncomingIdIsReplaced(incoming: String) async throws {
        #expect(!RequestIDMiddleware<BasicRequestContext>.isSane(incoming))
        let f = try Fixture()
        try await f.app.test(.router) { client in
            var headers = HTTPFields()
            headers.append(HTTPField(name: Self.requestID, value: incoming))
            let response = try await client.execute(uri: "/health", method: .get, headers: headers)
            let id = try #require(response.headers[Self.requestID])
            #expect(id != incoming && RequestIDMiddleware<BasicRequestContext>.isSane(id))
        }
    }

    @Test func aForwardedRequestCarriesTheId() async throws {
        let router = Router()
        router.get("/v1/echo") { request, _ -> Response in
            Response(status: request.headers[Self.requestID] == "abc-123" ? .ok : .badRequest)
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let head = HTTPRequest(
                method: .get, scheme: "http", authority: "127.0.0.1", path: "/v1/echo",
                headerFields: [Self.requestID: "abc-123"])
            let request = Request(head: head, body: .init(buffer: ByteBuffer()))
            let response = try await ForwardingMiddleware<BasicRequestContext>.send(
                request, to: "http://127.0.0.1:\(port)", client: .shared,
                authenticator: ClusterAuthenticator(key: .generate()))
            #expect(response.status == .ok)
        }
    }
}
