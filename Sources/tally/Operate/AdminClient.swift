import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// The operator commands' way to a running service: JSON over its admin endpoints, with the operator
/// token; a non-2xx answer becomes an error carrying the service's message.
struct AdminClient {
    let url: String
    let token: String
    let client: HTTPClient

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// A client for `url` (trailing slashes dropped); the token comes from `token` or
    /// `TALLY_OPERATOR_TOKEN`.
    static func run<T>(url: String, token: String?, _ body: (AdminClient) async throws -> T) async throws -> T {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(5), read: .seconds(600))
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        var base = url
        while base.hasSuffix("/") { base.removeLast() }
        let admin = AdminClient(
            url: base, token: token ?? ProcessInfo.processInfo.environment["TALLY_OPERATOR_TOKEN"] ?? "", client: client
        )
        do {
            let result = try await body(admin)
            try await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    /// Sends a request and returns the answer's body; throws on a status outside 2xx.
    func send(_ method: HTTPMethod, _ path: String, body: Data? = nil, base: String? = nil) async throws -> Data {
        var request = HTTPClientRequest(url: (base ?? url) + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response: HTTPClientResponse
        do { response = try await client.execute(request, timeout: .seconds(600)) } catch {
            throw Failure(description: "cannot reach \(base ?? url): \(error)")
        }
        let data = Data(buffer: try await response.body.collect(upTo: 256 << 20))
        guard (200..<300).contains(response.status.code) else {
            let message =
                (try? JSONSerialization.jsonObject(with: data) as? [String: Any])
                .flatMap { $0["error"] as? [String: Any] }
                .map { "\($0["code"] ?? "error"): \($0["message"] ?? "")" }
                ?? String(decoding: data.prefix(300), as: UTF8.self)
            throw Failure(description: "\(base ?? url)\(path) answered \(response.status.code): \(message)")
        }
        return data
    }

    func get<T: Decodable>(_ type: T.Type, _ path: String, base: String? = nil) async throws -> T {
        try JSONDecoder().decode(T.self, from: try await send(.GET, path, base: base))
    }

    func post<T: Decodable>(_ type: T.Type, _ path: String, _ body: some Encodable, base: String? = nil) async throws
        -> T
    {
        try JSONDecoder().decode(
            T.self, from: try await send(.POST, path, body: try JSONEncoder().encode(body), base: base))
    }

    /// The base URLs of the service's nodes: each shard's URL from `GET /v1/cluster` when the service
    /// is a multi-process cluster (a coordinator, whose shards have URLs), otherwise the URL itself
    /// (`tally serve` answers for all its nodes; a lone shard for itself).
    func nodeURLs() async throws -> [String] {
        struct View: Decodable {
            struct Shard: Decodable { var url: String }
            var shards: [Shard]
        }
        guard let view = try? await get(View.self, "/v1/cluster") else { return [url] }
        let urls = view.shards.map(\.url).filter { !$0.isEmpty }
        return urls.isEmpty ? [url] : urls
    }
}
