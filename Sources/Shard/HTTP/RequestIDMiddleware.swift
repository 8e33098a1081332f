import HTTPTypes
public import Hummingbird
import Logging

/// Gives every request an id that is in every log line about it (`hb.request.id`), comes back in
/// the `X-Request-Id` response header, and travels with a request forwarded to another shard.
///
/// A client's own `X-Request-Id` is kept when it is sane (1 to 128 letters, digits, `-`, `_`, `.`
/// or `:`), so a request keeps its id across shards and through a proxy that sets one; otherwise
/// the id is Hummingbird's own for the request. Each request is logged once it is answered, at
/// `info`, with its method, path, status and duration.
public struct RequestIDMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        let id = request.headers[.requestID].flatMap { Self.isSane($0) ? $0 : nil } ?? context.id
        var head = request.head
        head.headerFields[.requestID] = id
        let request = Request(head: head, body: request.body)
        var context = context
        context.logger[metadataKey: "hb.request.id"] = "\(id)"
        let start = ContinuousClock.now
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as any HTTPResponseError {
            // Answered here rather than by the router, so the error's answer carries the id too.
            response = try error.response(from: request, context: context)
        } catch {
            context.logger.error(
                "request failed",
                metadata: ["http.method": "\(request.method)", "http.path": "\(request.uri.path)", "error": "\(error)"])
            throw error
        }
        response.headers[.requestID] = id
        context.logger.info(
            "request",
            metadata: [
                "http.method": "\(request.method)", "http.path": "\(request.uri.path)",
                "http.status": "\(response.status.code)",
                "duration.ms": "\((ContinuousClock.now - start) / .milliseconds(1))",
            ])
        return response
    }

    /// Whether a client's id is short and plain enough to repeat in logs and headers.
    static func isSane(_ id: String) -> Bool {
        (1...128).contains(id.utf8.count)
            && id.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
                    UInt8(ascii: ":"):
                    true
                default: false
                }
            }
    }
}

extension HTTPField.Name {
    /// `X-Request-Id`: the id of a request in every log line about it, on every shard it passes.
    static var requestID: Self { Self("X-Request-Id")! }
}
