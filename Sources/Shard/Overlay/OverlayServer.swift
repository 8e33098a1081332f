import Domain
public import EventLog
import Foundation
import HTTPTypes
public import Hummingbird
import ServiceLifecycle
import Synchronization

/// Overlays for OBS browser sources: `GET /overlay/{guild}/{kind}?key=…` serves a self-contained page
/// (HTML, CSS and a little JavaScript, no external asset, transparent background), and
/// `GET /overlay/{guild}/{kind}/events?key=…` pushes the overlay's view as server-sent events.
///
/// Updates are pushed, not polled: a stream waits on its partition's ``DurableChanges`` and sends
/// the guild's view once the events behind it are durable.
///
/// Each event carries the whole view and, as its id, the guild's event sequence it reflects. A page
/// that reconnects (EventSource does, sending `Last-Event-ID`) gets the current view at once unless
/// it already had it, so it shows no gap and no repeat, also across a restart (sequences are in the
/// log). The key is per guild and read-only (``ShardNode/overlayKey(for:)``). In a multi-process
/// cluster, a shard that does not own the guild relays the stream from the one that does (``relay``).
public struct OverlayServer: Sendable {
    public let nodes: any NodeRouter
    public let publicBaseURL: String
    /// A comment line keeps idle connections open through proxies. Default 15 s.
    public var keepAlive: Duration = .seconds(15)
    /// A stream ends after this long (the page reconnects and resumes). Default 1 hour.
    public var maximumStream: Duration = .seconds(3600)
    /// In a multi-process cluster: relays the event stream of a guild whose partition another shard
    /// owns from that shard (nil when this node serves the guild). Default nil: every guild is served here.
    public var relay: (@Sendable (GuildID, Request) async throws -> Response?)?

    /// Views computed at a sequence, shared by every stream showing the same one (hundreds of pages
    /// may watch one guild).
    let views = ViewCache()

    public init(nodes: any NodeRouter, publicBaseURL: String) {
        self.nodes = nodes
        self.publicBaseURL = publicBaseURL
    }

    /// The newest view JSON of each overlay (guild, kind, board, rows) with the sequence it reflects.
    final class ViewCache: Sendable {
        private let entries = Mutex<[String: (sequence: UInt64, json: String)]>([:])

        /// The view of `state`, computed once per sequence and overlay.
        func json(_ view: OverlayView, _ state: GuildState, guild: GuildID) -> String {
            let key = "\(guild)/\(view.kind.name)/\(view.board)/\(view.rows)"
            if let entry = entries.withLock({ $0[key] }), entry.sequence == state.lastSequence { return entry.json }
            let json = view.json(state, guild: guild)
            entries.withLock { entries in
                if (entries[key]?.sequence ?? 0) < state.lastSequence {
                    entries[key] = (state.lastSequence, json)
                }
            }
            return json
        }
    }

    /// Adds the routes to `router`.
    public func register(on router: Router<BasicRequestContext>) {
        router.get("/overlay/:guild/:kind") { request, context in try await page(request, context) }
        router.get("/overlay/:guild/:kind/events") { request, context in try await events(request, context) }
    }

    /// The overlay a request names, once its key checks out.
    struct Target {
        let guild: GuildID
        let node: ShardNode
        let view: OverlayView
        let options: OverlayPage.Options
        let key: String
    }

    func target(_ request: Request, _ context: BasicRequestContext) async throws -> Target {
        guard let text = context.parameters.get("guild"), let raw = Snowflake.parse(text) else {
            throw APIError(.invalidSnowflake, "the guild is a Discord snowflake")
        }
        guard let kind = context.parameters.get("kind").flatMap(OverlayKind.init(name:)) else {
            throw APIError(
                .unknownOverlay, "the overlays are " + OverlayKind.all.map(\.name).joined(separator: ", "))
        }
        let guild = GuildID(raw)
        let node = await nodes.node(for: guild)
        let q = request.uri.queryParameters
        let given = q["key"].map(String.init) ?? ""
        let expected = node.overlayKey(for: guild)
        guard Self.equal(given, expected) else {
            throw APIError(.forbidden, "the overlay key is missing or wrong: /overlay in Discord gives the links")
        }
        var view = OverlayView(kind: kind, publicBaseURL: publicBaseURL)
        let options = try OverlayPage.Options(query: q)
        view.board = options.board
        view.rows = options.rows
        return Target(guild: guild, node: node, view: view, options: options, key: expected)
    }

    func page(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let target = try await target(request, context)
        let html = OverlayPage.html(
            guild: target.guild, kind: target.view.kind, key: target.key, options: target.options)
        return Response(
            status: .ok,
            headers: [
                .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
                // Nothing but this page's own inline code and its own event stream.
                HTTPField.Name("Content-Security-Policy")!:
                    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'",
            ],
            body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    func events(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let target = try await target(request, context)
        let resumeFrom =
            request.headers[HTTPField.Name("Last-Event-ID")!].flatMap { UInt64($0) }
            ?? request.uri.queryParameters["after"].flatMap { UInt64(String($0)) }
        if let relay, let relayed = try await relay(target.guild, request) { return relayed }
        let owner = try await target.node.owner(for: target.guild)
        let stream = Stream(
            target: target, owner: owner, views: views, keepAlive: keepAlive,
            end: ContinuousClock.now + maximumStream, sent: resumeFrom)
        return Response(
            status: .ok,
            headers: [.contentType: "text/event-stream", .cacheControl: "no-store"],
            body: ResponseBody { writer in try await stream.run(&writer) })
    }

    /// One page's event stream: it watches its guild's durable changes and, on each, sends the view
    /// of the guild's state once that state is durable (never a view an append that may still fail
    /// produced), unless the view is what the page already shows.
    struct Stream: Sendable {
        let target: Target
        let owner: PartitionOwner
        let views: ViewCache
        let keepAlive: Duration
        let end: ContinuousClock.Instant
        /// The sequence the page has (from `Last-Event-ID` or `after`), nil for a new page.
        let sent: UInt64?

        func run(_ writer: inout any ResponseBodyWriter) async throws {
            // Watch before the first read, so no change between the two is missed.
            let watch = owner.changes.watch(target.guild)
            var sent = self.sent
            var lastJSON = ""
            var lastWrite = ContinuousClock.now
            /// A state read while some of its events were still being appended: sent once they are durable.
            var pending: GuildState?
            // The page reconnects after a drop; tell it to wait a second.
            try await writer.write(ByteBuffer(string: "retry: 1000\n\n"))
            try await withGracefulShutdownHandler {
                try await withThrowingTaskGroup(of: Void.self) { ticks in
                    // Wakes the loop twice per keep-alive period (so an idle page gets a comment within
                    // 1.5 periods), and ends the stream at its time limit.
                    let (wake, keepAlive, end) = (watch.wake, self.keepAlive, self.end)
                    ticks.addTask {
                        while ContinuousClock.now < end {
                            try await Task.sleep(until: min(end, ContinuousClock.now + keepAlive / 2))
                            wake.yield()
                        }
                        wake.finish()
                    }
                    var iterator = watch.wakes.makeAsyncIterator()
                    repeat {
                        let durable = owner.changes.durableSequence(of: target.guild)
                        let state = await owner.changes.state(of: target.guild) { [owner, target] in
                            await owner.state(of: target.guild)
                        }
                        var show: GuildState?
                        if let state, state.lastSequence <= durable {
                            show = state
                            pending = nil
                        } else if let state {
                            if let waiting = pending, waiting.lastSequence <= durable { show = waiting }
                            if pending == nil || show != nil { pending = state }
                        }
                        if let show, sent.map({ show.lastSequence > $0 }) ?? true {
                            // Events that do not change what the overlay shows are not pushed.
                            let json = views.json(target.view, show, guild: target.guild)
                            if json != lastJSON {
                                try await writer.write(
                                    ByteBuffer(string: "id: \(show.lastSequence)\nevent: view\ndata: \(json)\n\n"))
                                lastJSON = json
                                lastWrite = .now
                            }
                            sent = show.lastSequence
                        } else if state == nil, sent == nil {
                            // A guild without history yet: an empty view, and wait for its first event.
                            let json = target.view.json(nil, guild: target.guild)
                            try await writer.write(ByteBuffer(string: "id: 0\nevent: view\ndata: \(json)\n\n"))
                            sent = 0
                            lastWrite = .now
                        } else if lastWrite.duration(to: .now) >= keepAlive {
                            try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                            lastWrite = .now
                        }
                    } while await iterator.next() != nil
                    ticks.cancelAll()
                }
            } onGracefulShutdown: {
                watch.wake.finish()
            }
            watch.wake.finish()
            try await writer.finish(nil)
        }
    }

    /// Compares in constant time (the key is a secret).
    static func equal(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        var difference = UInt8(x.count == y.count ? 0 : 1)
        for i in 0..<max(x.count, y.count) {
            difference |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0)
        }
        return difference == 0 && !y.isEmpty
    }
}
