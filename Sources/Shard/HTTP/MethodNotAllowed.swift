import Hummingbird

/// The answer to a method a route does not take: 405 with the `Allow` header (RFC 9110), instead of
/// the router's 404.
struct MethodNotAllowed: HTTPResponseError {
    let allowed: [HTTPRequest.Method]

    var status: HTTPResponse.Status { .methodNotAllowed }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        let error = APIError(
            .methodNotAllowed,
            "\(request.method) is not allowed here; use \(allowed.map(\.rawValue).joined(separator: ", "))")
        var response = try error.response(from: request, context: context)
        response.headers[.allow] = allowed.map(\.rawValue).joined(separator: ", ")
        return response
    }

    /// For each route, answers every other common method with a 405 naming the allowed ones.
    static func register(_ routes: [(String, [HTTPRequest.Method])], on router: Router<BasicRequestContext>) {
        // QUERY (the safe method with a body, draft-ietf-httpbis-safe-method-w-body) is not in
        // HTTPTypes' list of known methods, but clients send it.
        let methods =
            [.get, .head, .post, .put, .patch, .delete, .options, .trace]
            + [HTTPRequest.Method("QUERY")]
            .compactMap { $0 }
        for (path, allowed) in routes {
            for method in methods where !allowed.contains(method) && !(method == .head && allowed.contains(.get)) {
                router.on(RouterPath(path), method: method) { _, _ -> Response in
                    throw MethodNotAllowed(allowed: allowed)
                }
            }
        }
    }
}
