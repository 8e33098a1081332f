import ArgumentParser
import Coordinator
import Foundation
import Shard

/// `tally status --url URL [--json]`: one screen for an operator.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Nodes, partitions and their state, read-model lag, outbox backlogs, snapshots and rebuilds.",
        discussion: """
            Asks the service (GET /v1/cluster where it answers, and GET /v1/admin/status on every node) and prints \
            one overview; --json prints the answers as one JSON object.
            """
    )

    @Option(help: "The service's base URL (tally serve, or a cluster's coordinator).") var url: String
    @Option(help: "The operator token (default: TALLY_OPERATOR_TOKEN).") var token: String?
    @Flag(help: "Print JSON instead of a table.") var json = false

    struct Report: Codable {
        var cluster: ClusterView?
        var nodes: [Operations.Status]
    }

    func run() async throws {
        let report = try await AdminClient.run(url: url, token: token) { admin in
            let cluster = try? await admin.get(ClusterView.self, "/v1/cluster")
            var nodes: [Operations.Status] = []
            for base in try await admin.nodeURLs() {
                nodes.append(try await admin.get(Operations.Status.self, "/v1/admin/status", base: base))
            }
            return Report(cluster: cluster, nodes: nodes)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(Self.render(report, now: Int64(Date().timeIntervalSince1970 * 1000)), terminator: "")
        }
    }

    /// The overview as text.
    static func render(_ report: Report, now: Int64) -> String {
        var out = ""
        let rows = report.nodes.flatMap { status in
            status.nodes.flatMap { node in node.partitions.map { (node: node.name, row: $0) } }
        }
        out += "nodes\n"
        if let cluster = report.cluster, !cluster.shards.isEmpty {
            for shard in cluster.shards {
                let held = cluster.partitions.filter { $0.owner == shard.id }.map { String($0.partition) }
                // Nodes of `tally serve` live in its process: they have no URL and need no lease.
                let lease = Double(shard.leaseExpiresMs - now) / 1000
                let place =
                    shard.url.isEmpty
                    ? pad("in process", 28) + " "
                    : pad(shard.url, 28) + " lease \(lease >= 0 ? String(format: "%.1f s left", lease) : "EXPIRED") "
                out +=
                    "  \(pad(shard.id, 12)) \(place)partitions \(held.isEmpty ? "none" : held.joined(separator: ","))\n"
            }
            let unowned = cluster.partitions.filter { $0.owner == nil }.map { String($0.partition) }
            if !unowned.isEmpty { out += "  UNOWNED partitions: \(unowned.joined(separator: ","))\n" }
            let moving = cluster.partitions.filter { $0.movingTo != nil }
            for p in moving { out += "  partition \(p.partition) moving \(p.owner ?? "?") → \(p.movingTo!)\n" }
        } else {
            for status in report.nodes {
                for node in status.nodes { out += "  \(node.name): \(node.partitions.count) partition(s)\n" }
            }
        }
        var states: [String: Int] = [:]
        for (_, row) in rows { states[row.state, default: 0] += 1 }
        out +=
            "partitions: " + states.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
            + "\n"
        out +=
            "  "
            + [
                pad("P", 4), pad("STATE", 12), pad("NODE", 10), pad("EPOCH", 6), pad("LOG END", 10),
                pad("READ MODELS", 12), pad("LAG", 6), pad("OUTBOX", 18), pad("SNAPSHOT", 10), "STALE",
            ].joined(separator: " ") + "\n"
        for (node, row) in rows.sorted(by: { $0.row.partition < $1.row.partition }) {
            let outbox = row.outbox.filter { $0.value > 0 }.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
            out +=
                "  "
                + [
                    pad(String(row.partition), 4), pad(row.state, 12), pad(node, 10),
                    pad(row.epoch.map(String.init) ?? "-", 6),
                    pad(row.logEnd.map(String.init) ?? "-", 10), pad(row.readModelsOffset.map(String.init) ?? "-", 12),
                    pad(row.readModelsLag.map(String.init) ?? "-", 6),
                    pad(outbox.isEmpty ? "0" : outbox.joined(separator: ", "), 18),
                    pad(row.lastSnapshot.map(String.init) ?? "none", 10),
                    row.staleProjections.isEmpty ? "-" : row.staleProjections.joined(separator: ","),
                ].joined(separator: " ") + "\n"
        }
        let backlog = rows.reduce(into: [String: Int]()) { sum, item in
            for (platform, n) in item.row.outbox { sum[platform, default: 0] += n }
        }
        out +=
            "outbox backlog: "
            + (backlog.isEmpty
                ? "none"
                : backlog.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
                    .joined(separator: ", ")) + "\n"
        let rebuilds = report.nodes.flatMap(\.rebuilds)
        out += "rebuilds: \(rebuilds.isEmpty ? "none" : "")\n"
        for job in rebuilds {
            let progress = job.partitions.filter { $0.phase != "done" && $0.phase != "queued" }
                .map { "partition \($0.partition) \($0.phase) \($0.applied)/\($0.target)" }
            let done = job.partitions.filter { $0.phase == "done" }.count
            out +=
                "  \(job.id) \(job.state) (\(job.projections.joined(separator: ","))): \(done)/\(job.partitions.count) partitions done"
                + (progress.isEmpty ? "" : "; " + progress.joined(separator: "; "))
                + (job.state == "done" ? "; \(job.peopleChanged) people changed" : "")
                + (job.error.map { "; \($0)" } ?? "") + "\n"
        }
        return out
    }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}
