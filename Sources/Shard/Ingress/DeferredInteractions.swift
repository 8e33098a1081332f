import Discord
import Domain
import EventLog
public import ServiceLifecycle

/// Slash commands answered "thinking…" (type 5) and finished later: the ingress hands them here,
/// ``DeferredInteractionService`` runs them, and their answer goes out through the outbox as a
/// `PATCH …/messages/@original` (durable, retried and rate-limited like every Discord call).
///
/// The queue is bounded: when it is full (or stopping) ``submit(_:)`` says so and the ingress answers
/// the command at once instead.
public final class DeferredInteractions: Sendable {
    let stream: AsyncStream<Interaction>
    private let continuation: AsyncStream<Interaction>.Continuation

    /// - Parameter capacity: interactions waiting at most. Default 1,024.
    public init(capacity: Int = 1024) {
        (stream, continuation) = AsyncStream.makeStream(
            of: Interaction.self, bufferingPolicy: .bufferingOldest(capacity))
    }

    /// Queues `interaction`; false when the queue is full or no longer takes work.
    func submit(_ interaction: Interaction) -> Bool {
        if case .enqueued = continuation.yield(interaction) { return true }
        return false
    }

    /// Takes no more work; what is queued is still finished.
    func finish() { continuation.finish() }
}

/// Runs the deferred interactions of a ``DiscordIngress``: each is answered as it would have been at
/// once, and the answer becomes a ``Domain/Command/finishInteraction(token:message:)`` the outbox
/// delivers. A graceful shutdown stops taking work and finishes what is queued (the HTTP server,
/// started after this service, has stopped first).
public struct DeferredInteractionService: Service {
    public let ingress: DiscordIngress
    public let queue: DeferredInteractions
    /// Interactions worked on at once. Default 16.
    public var concurrency = 16

    public init(ingress: DiscordIngress, queue: DeferredInteractions) {
        self.ingress = ingress
        self.queue = queue
    }

    public func run() async {
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                var running = 0
                for await interaction in queue.stream {
                    if running >= concurrency {
                        await group.next()
                        running -= 1
                    }
                    running += 1
                    group.addTask { await ingress.finish(interaction) }
                }
            }
        } onGracefulShutdown: {
            queue.finish()
        }
    }
}
