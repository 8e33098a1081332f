import Hummingbird

/// Turns a ``ShardError`` thrown by any route (a query whose partition is quarantined, recovering
/// or moving) into its ``APIError``, so that every endpoint answers 503 with the same code,
/// `Retry-After` and damage details as a command does, never a bare 500.
struct ShardErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        do { return try await next(request, context) } catch let error as ShardError {
            throw APIError(error)
        }
    }
}
