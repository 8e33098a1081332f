import AsyncHTTPClient
import ServiceLifecycle

/// Keeps the HTTP client that forwards requests and heartbeats open while the group runs, and shuts
/// it down last (listed first, it is stopped after every service that uses it).
struct HTTPClientService: Service {
    let client: HTTPClient

    func run() async throws {
        try? await gracefulShutdown()
        try await client.shutdown()
    }
}
