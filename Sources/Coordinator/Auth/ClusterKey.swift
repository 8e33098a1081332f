import Foundation

/// The secret every node of a cluster shares to sign its calls to the others (heartbeats, releases,
/// forwarded requests), separate from the operator token: a leaked operator token does not let
/// anyone join the cluster, and a cluster key never authorizes a client's command by itself.
///
/// It is never printed: ``description`` is redacted, so a key in a log line or an error says nothing.
public struct ClusterKey: Sendable, CustomStringConvertible, CustomReflectable {
    /// The key's bytes (a `SymmetricKey` is made from them per use: it is not `Sendable` on Linux).
    let bytes: [UInt8]
    /// The key as given (what `tally cluster` hands its children in `TALLY_CLUSTER_KEY`).
    public let text: String

    /// The fewest bytes a key may have (256 bits).
    public static let minimumLength = 32

    /// A key from its text (surrounding whitespace, such as a file's final newline, is dropped).
    ///
    /// - Throws: ``CoordinatorError`` `badRequest` when the key is shorter than ``minimumLength`` bytes.
    public init(text: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.utf8.count >= Self.minimumLength else {
            throw CoordinatorError(
                .badRequest, "a cluster key has at least \(Self.minimumLength) bytes (try: openssl rand -hex 32)")
        }
        self.text = trimmed
        bytes = Array(trimmed.utf8)
    }

    /// A new random key: 32 random bytes as 64 hex digits.
    public static func generate() -> ClusterKey {
        var rng = SystemRandomNumberGenerator()
        let text = (0..<32).map { _ in String(UInt8.random(in: 0...255, using: &rng), radix: 16) }
            .map { $0.count == 1 ? "0" + $0 : $0 }.joined()
        // 64 hex digits are always long enough.
        return try! ClusterKey(text: text)
    }

    /// The key from `file` when given, else from `TALLY_CLUSTER_KEY` in `environment`.
    ///
    /// - Throws: ``CoordinatorError`` `badRequest` when neither is given, the file cannot be read,
    ///   or the key is too short.
    public static func load(file: String?, environment: [String: String]) throws -> ClusterKey {
        if let file {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw CoordinatorError(.badRequest, "cannot read the cluster key file \(file)")
            }
            return try ClusterKey(text: String(decoding: data, as: UTF8.self))
        }
        if let text = environment["TALLY_CLUSTER_KEY"], !text.isEmpty { return try ClusterKey(text: text) }
        throw CoordinatorError(
            .badRequest,
            "no cluster key: pass --cluster-key-file FILE or set TALLY_CLUSTER_KEY (the same key on every node)")
    }

    public var description: String { "ClusterKey(redacted)" }

    /// No children: `dump` and reflection of a configuration holding a key show nothing of it.
    public var customMirror: Mirror { Mirror(self, children: []) }
}
