import Coordinator
import Crypto
public import EventLog
public import Hummingbird

/// Who may do what through the API: the operator token allows everything, a guild's API key
/// commands and audit reads for that guild only; leaderboards, people, raffles and settings are
/// public.
///
/// A request's credential is its `Authorization: Bearer <token>` (the scheme in any case, RFC 9110),
/// or — on a request another node forwarded, whose cluster signature was checked — the SHA-256 of
/// the token the client sent that node. Either way the decision is made on the SHA-256 of the
/// token: compared with the operator token's in constant time, and looked up among the keys
/// (stored as their SHA-256 only).
public struct Authorizer: Sendable {
    /// What a request's credential proves.
    public enum Principal: Sendable, Equatable {
        case `operator`
        /// A key of this guild.
        case guild(GuildID)
        /// No credential.
        case anonymous
        /// A credential that is neither the operator token nor a live key.
        case invalid
    }

    let operatorDigest: [UInt8]
    /// The per-guild API keys (nil: none are accepted).
    let keys: GuildKeyStore?

    public init(operatorToken: String, keys: GuildKeyStore?) {
        operatorDigest = operatorToken.isEmpty ? [] : Self.digest(operatorToken)
        self.keys = keys
    }

    /// SHA-256 of a token.
    static func digest(_ token: String) -> [UInt8] { Array(SHA256.hash(data: Array(token.utf8))) }

    /// The SHA-256 of the token in `Authorization: Bearer <token>`; nil for any other header.
    public static func tokenDigest(authorization header: String) -> [UInt8]? {
        let bytes = Array(header.utf8)
        guard bytes.count > 7, String(decoding: bytes[0..<7], as: UTF8.self).lowercased() == "bearer " else {
            return nil
        }
        return Array(SHA256.hash(data: bytes[7...]))
    }

    /// Whether `header` is `Bearer <token>`, compared through the digests in constant time.
    static func bearer(_ header: String, matches token: String) -> Bool {
        guard !token.isEmpty, let given = tokenDigest(authorization: header) else { return false }
        return ClusterAuthenticator.constantTimeEqual(given, digest(token))
    }

    /// What `request`'s credential proves.
    ///
    /// - Throws: ``ShardError`` `storage` when the key file cannot be read.
    public func principal(of request: Request) throws -> Principal {
        let digest: [UInt8]
        if request.headers[ClusterAuthenticator.Header.forwarded] != nil {
            // Set only by the cluster middleware once the signature checked out.
            guard let forwarded = request.headers[ClusterAuthenticator.Header.credential] else { return .anonymous }
            guard forwarded.hasPrefix("sha256="), let bytes = Hex.decode(String(forwarded.dropFirst(7))),
                bytes.count == 32
            else { return .invalid }
            digest = bytes
        } else {
            guard let header = request.headers[.authorization] else { return .anonymous }
            guard let bytes = Self.tokenDigest(authorization: header) else { return .invalid }
            digest = bytes
        }
        if !operatorDigest.isEmpty, ClusterAuthenticator.constantTimeEqual(digest, operatorDigest) { return .operator }
        if let guild = try keys?.guild(forDigest: digest) { return .guild(guild) }
        return .invalid
    }

    /// Refuses `request` unless it holds the operator token or a key of `guild`.
    ///
    /// - Throws: ``APIError`` `unauthorized` (401) without a valid credential, `forbidden` (403) with
    ///   a key of another guild.
    public func requireAccess(_ request: Request, to guild: GuildID) throws {
        let who = try checkedPrincipal(of: request)
        switch who {
        case .operator: return
        case .guild(let owner) where owner == guild: return
        case .guild:
            throw APIError(.forbidden, "this API key is for another guild")
        case .anonymous, .invalid:
            throw APIError(
                .unauthorized, "this needs Authorization: Bearer <operator token or this guild's API key>")
        }
    }

    /// Refuses `request` unless it holds the operator token (the `/v1/admin/…` endpoints: rebuilds,
    /// backups and status concern every guild).
    ///
    /// - Throws: ``APIError`` `unauthorized` (401) without a valid credential, `forbidden` (403) with
    ///   a guild's key.
    public func requireOperator(_ request: Request) throws {
        let who = try checkedPrincipal(of: request)
        switch who {
        case .operator: return
        case .guild: throw APIError(.forbidden, "a guild's API key cannot do this; it needs the operator token")
        case .anonymous, .invalid:
            throw APIError(.unauthorized, "this needs Authorization: Bearer <operator token>")
        }
    }

    /// ``principal(of:)`` with a key file that cannot be read answered as a 500.
    private func checkedPrincipal(of request: Request) throws -> Principal {
        do { return try principal(of: request) } catch let error as ShardError {
            throw APIError(.internalError, "cannot check the API key now", underlying: error)
        }
    }
}
