import EventLog
public import Hummingbird

/// Checks the cluster signature of the calls it sees (see ``ClusterAuthenticator``).
///
/// Installed once, in front of every route. A signed call is checked in full (its body is buffered
/// for the digest) and refused when the check fails; once accepted it passes on marked
/// `X-Tally-Forwarded`, with the forwarded client credential's digest if it carried one. An
/// unsigned call passes on as a client's request, with every cluster header a client set for itself
/// removed — so no client can pose as a forwarding node, and a route that takes only cluster calls
/// (the coordinator's heartbeat and release) asks ``isVerified(_:)``.
public struct ClusterAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let authenticator: ClusterAuthenticator
    /// The largest body a signed call may have.
    let maxBody: Int
    /// Turns a refusal into the error the API answers with.
    let refuse: @Sendable (CoordinatorError) -> any Error

    public init(
        authenticator: ClusterAuthenticator, maxBody: Int, refuse: @escaping @Sendable (CoordinatorError) -> any Error
    ) {
        self.authenticator = authenticator
        self.maxBody = maxBody
        self.refuse = refuse
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        var request = request
        guard request.headers[ClusterAuthenticator.Header.signature] != nil else {
            var head = request.head
            for name in ClusterAuthenticator.Header.all { head.headerFields[name] = nil }
            return try await next(Request(head: head, body: request.body), context)
        }
        let body: ByteBuffer
        do { body = try await request.collectBody(upTo: maxBody) } catch {
            throw refuse(CoordinatorError(.badRequest, "a cluster call's body is at most \(maxBody) bytes"))
        }
        let verified: ClusterAuthenticator.Verified
        do {
            verified = try authenticator.verify(
                method: request.method.rawValue, path: request.uri.description, headers: request.headers,
                body: body.readableBytesView)
        } catch let error as CoordinatorError {
            context.logger.warning(
                "cluster call refused",
                metadata: [
                    "http.method": "\(request.method)", "http.path": "\(request.uri.path)", "reason": "\(error)",
                ])
            throw refuse(error)
        }
        var head = request.head
        let nonce = head.headerFields[ClusterAuthenticator.Header.nonce]
        for name in ClusterAuthenticator.Header.all { head.headerFields[name] = nil }
        head.headerFields[ClusterAuthenticator.Header.forwarded] = "1"
        head.headerFields[ClusterAuthenticator.Header.verifiedNonce] = nonce
        if let credential = verified.credential {
            head.headerFields[ClusterAuthenticator.Header.credential] = "sha256=" + Hex.encode(credential)
        }
        return try await next(Request(head: head, body: request.body), context)
    }

    /// Whether this middleware checked `request`'s cluster signature (a client's own marker never
    /// gets past it).
    public static func isVerified(_ request: Request) -> Bool {
        request.headers[ClusterAuthenticator.Header.verifiedNonce] != nil
    }
}
