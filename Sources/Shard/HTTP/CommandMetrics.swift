import Metrics

/// The command metrics, made once per API rather than per request.
struct CommandMetrics: Sendable {
    let accepted = Counter(label: "tally_commands_total", dimensions: [("outcome", "accepted")])
    let duplicate = Counter(label: "tally_commands_total", dimensions: [("outcome", "duplicate")])
    let rejected = Counter(label: "tally_commands_total", dimensions: [("outcome", "rejected")])
    let unavailable = Counter(label: "tally_commands_total", dimensions: [("outcome", "unavailable")])
    let eventsAppended = Counter(label: "tally_events_appended_total")
    let duration = Metrics.Timer(label: "tally_command_duration_seconds")
    let batchDuration = Metrics.Timer(label: "tally_command_batch_duration_seconds")
}
