public import Coordinator
public import Domain
import Foundation
public import Hummingbird

/// A 4xx or 5xx answer with a machine-readable code and a human message:
/// `{"error": {"code": "...", "message": "..."}}`.
///
/// Errors become statuses only here, at the HTTP edge: each ``Code`` carries its status, a domain
/// ``Domain/Rejection`` maps by its kind, and a ``ShardError`` is a 503.
public struct APIError: HTTPResponseError, Sendable, CustomStringConvertible {
    /// What went wrong, as a client can match on it; static members, so adding one breaks no caller.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        /// The status every answer with this code has.
        public let status: HTTPResponse.Status

        init(_ name: String, _ status: HTTPResponse.Status) {
            self.name = name
            self.status = status
        }

        public var description: String { name }

        /// The body is not JSON of the expected shape.
        public static let malformedJSON = Code("malformed_json", .badRequest)
        /// The command's `type` is not one the API takes.
        public static let unknownCommand = Code("unknown_command", .badRequest)
        /// A field the command's type needs is absent.
        public static let missingField = Code("missing_field", .badRequest)
        /// The idempotency key is empty or too long.
        public static let invalidKey = Code("invalid_key", .badRequest)
        /// A guild, user or role id is not a Discord snowflake.
        public static let invalidSnowflake = Code("invalid_snowflake", .badRequest)
        /// A person is not `discord:ID`, `kick:ID` or a snowflake.
        public static let invalidPerson = Code("invalid_person", .badRequest)
        /// A `limit` query parameter is out of range.
        public static let invalidLimit = Code("invalid_limit", .badRequest)
        /// A `before` offset is not a number.
        public static let invalidOffset = Code("invalid_offset", .badRequest)
        /// A draw is not `PERIOD:NUMBER`.
        public static let invalidDraw = Code("invalid_draw", .badRequest)
        /// A value is of the wrong type or out of range.
        public static let invalidValue = Code("invalid_value", .badRequest)
        /// No setting has that name.
        public static let unknownSetting = Code("unknown_setting", .badRequest)
        /// The request needs `Authorization: Bearer <operator token>` (or the guild's API key).
        public static let unauthorized = Code("unauthorized", .unauthorized)
        /// The API key is for another guild, or an overlay key is missing or wrong.
        public static let forbidden = Code("forbidden", .forbidden)
        /// A request signed as a forward from another node whose signature is missing, wrong, stale
        /// or replayed.
        public static let clusterUnauthenticated = Code("cluster_unauthenticated", .unauthorized)
        /// Something on the server failed; the message says what, the log says why.
        public static let internalError = Code("internal_error", .internalServerError)
        /// The guild has no history.
        public static let unknownGuild = Code("unknown_guild", .notFound)
        /// The person has nothing in the guild.
        public static let unknownPerson = Code("unknown_person", .notFound)
        /// Leaderboards are points, watchtime and tickets.
        public static let unknownLeaderboard = Code("unknown_leaderboard", .notFound)
        /// The guild has no such draw.
        public static let unknownDraw = Code("unknown_draw", .notFound)
        /// A raffle period in a path is not a positive integer.
        public static let invalidPeriodID = Code("invalid_period", .badRequest)
        /// The guild has no raffle period with that number.
        public static let unknownPeriod = Code("unknown_period", .notFound)
        /// No overlay of that kind exists.
        public static let unknownOverlay = Code("unknown_overlay", .notFound)
        /// The route does not take this method (the answer's `Allow` header lists those it takes).
        public static let methodNotAllowed = Code("method_not_allowed", .methodNotAllowed)
        /// A batch holds no command or more than ``ShardAPI/maxBatchCommands``.
        public static let batchTooLarge = Code("batch_too_large", .badRequest)
        /// The command cannot go in a batch (raffle period commands need the period's seeds first).
        public static let notBatchable = Code("not_batchable", .badRequest)
        /// The body is larger than the API takes.
        public static let bodyTooLarge = Code("body_too_large", .contentTooLarge)
        /// The guild's partition has no owner yet (it is moving): retry.
        public static let partitionMoving = Code("partition_moving", .serviceUnavailable)
        /// The shard owning the guild did not answer: retry.
        public static let ownerUnreachable = Code("owner_unreachable", .serviceUnavailable)
        /// The partition cannot take commands now (released, failed or not held here): retry
        /// (after the `Retry-After` seconds when the answer has one).
        public static let unavailable = Code("unavailable", .serviceUnavailable)
        /// The guild's partition is quarantined: its log is damaged inside acknowledged data. The
        /// answer names the file and byte; it lasts until an operator repairs the log and restarts.
        public static let partitionDamaged = Code("partition_damaged", .serviceUnavailable)

        /// An online rebuild is already queued or running.
        public static let rebuildRunning = Code("rebuild_running", .conflict)
        /// A backup could not be made or did not verify (nothing is claimed for the partition).
        public static let backupFailed = Code("backup_failed", .internalServerError)
        /// The backup directory already holds a backup of these partitions: choose another name.
        public static let backupExists = Code("backup_exists", .conflict)
        /// A backup is being made by this process: wait for it.
        public static let backupRunning = Code("backup_running", .conflict)
        /// The logs are in a shared store (PostgreSQL), which the database's own backups cover.
        public static let backupUnsupported = Code("backup_unsupported", .conflict)
        /// No rebuild has that id.
        public static let unknownRebuild = Code("unknown_rebuild", .notFound)

        /// The code a domain rejection answers with: its own name, with the status its kind maps to.
        static func rejected(_ code: Rejection.Code) -> Code {
            switch code.kind {
            case .invalid: Code(code.name, .badRequest)
            case .conflict: Code(code.name, .conflict)
            default: Code(code.name, .internalServerError)
            }
        }
    }

    public var code: Code
    public var message: String
    /// What caused it, for logs (never sent to the client).
    public var underlying: (any Error)?
    /// Sent as `Retry-After` (whole seconds, at least 1) when set; a 503 other than
    /// `partition_damaged` without it says 1.
    public var retryAfter: Duration?
    /// For `partition_damaged`: the partition, file and byte, sent in the error body.
    public var damage: PartitionDamage?

    public var status: HTTPResponse.Status { code.status }

    public init(_ code: Code, _ message: String, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    /// The answer to a command the rules refused.
    public init(_ rejection: Rejection) {
        self.init(.rejected(rejection.code), rejection.message, underlying: rejection)
    }

    /// The answer to a shard that cannot serve the partition now.
    public init(_ error: ShardError) {
        self.init(error.code == .partitionDamaged ? .partitionDamaged : .unavailable, error.message, underlying: error)
        retryAfter = error.retryAfter
        damage = error.damage
    }

    public var description: String { "\(code): \(message)" }

    /// The error body on the wire.
    struct Body: Encodable {
        struct Detail: Encodable {
            var code: String
            var message: String
            var partition: UInt32?
            var file: String?
            var position: Int64?
        }
        var error: Detail
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let body = try encoder.encode(
            Body(
                error: .init(
                    code: code.name, message: message, partition: damage?.partition, file: damage?.file,
                    position: damage?.position)))
        var headers: HTTPFields = [.contentType: "application/json"]
        if let retryAfter {
            let seconds = retryAfter.components.seconds + (retryAfter.components.attoseconds > 0 ? 1 : 0)
            headers[.retryAfter] = "\(max(1, seconds))"
        } else if status == .serviceUnavailable, code.name != Code.partitionDamaged.name {
            // Every retryable 503 says when to retry (a damaged partition's does not: retrying cannot help).
            headers[.retryAfter] = "1"
        }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
