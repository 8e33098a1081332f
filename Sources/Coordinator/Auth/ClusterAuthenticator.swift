import Crypto
import EventLog
public import Foundation
public import HTTPTypes
import Synchronization

/// Signs the calls one node of a cluster makes to another and checks the calls it receives:
/// HMAC-SHA256 with the ``ClusterKey`` over the method, the path with its query, a timestamp, a
/// random nonce, the forwarded client credential's digest (if any) and the SHA-256 of the body.
///
/// A call is accepted only when its signature matches, its timestamp is within ``window`` of this
/// node's clock, and its nonce has not been seen while that timestamp was in the window — so a call
/// captured on the wire can be neither altered, nor replayed later, nor replayed at once. See
/// `docs/decisions/0008-cluster-authentication.md`.
///
/// Headers (``Header``): `X-Tally-Cluster-Time` (milliseconds since the epoch),
/// `X-Tally-Cluster-Nonce` (32 hex digits), `X-Tally-Cluster-Signature` (`v1=` and 64 hex digits),
/// and on a forwarded request `X-Tally-Credential` (`sha256=` and the hex digest of the client's
/// bearer token, never the token).
public final class ClusterAuthenticator: Sendable {
    /// The header names of a signed call.
    public enum Header {
        public static let time = HTTPField.Name("X-Tally-Cluster-Time")!
        public static let nonce = HTTPField.Name("X-Tally-Cluster-Nonce")!
        public static let signature = HTTPField.Name("X-Tally-Cluster-Signature")!
        /// The SHA-256 of the bearer token the client sent the forwarding node.
        public static let credential = HTTPField.Name("X-Tally-Credential")!
        /// Set by ``ClusterAuthMiddleware`` on a call whose signature it checked (a client's own is
        /// removed), so the handlers know a request was forwarded by a node of the cluster.
        public static let forwarded = HTTPField.Name("X-Tally-Forwarded")!

        /// Every header a client may not set for itself.
        static let all = [time, nonce, signature, credential, forwarded, verifiedNonce]
        /// The nonce of a checked call, kept so its answer can be signed (``signAnswer(to:status:body:)``).
        public static let verifiedNonce = HTTPField.Name("X-Tally-Cluster-Verified-Nonce")!
    }

    /// What a checked call carries.
    public struct Verified: Sendable, Equatable {
        /// The digest of the client's bearer token, on a forwarded request that had one.
        public var credential: [UInt8]?
    }

    private let key: ClusterKey
    /// How far a call's timestamp may be from this node's clock, either way. Default 30 s.
    public let window: Int64
    /// Wall-clock milliseconds.
    private let now: @Sendable () -> Int64
    /// Nonces seen, each with when its timestamp leaves the window (then it is forgotten: a replay
    /// of it would be refused as stale).
    private let seen = Mutex(SeenNonces())
    /// Nonces remembered at most: past this (a flood of valid calls, at ~100 bytes each), calls are
    /// refused rather than letting a nonce be forgotten while it could still be replayed. Default 1,000,000.
    public let capacity: Int

    public init(
        key: ClusterKey, window: Int64 = 30_000, capacity: Int = 1_000_000,
        now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }
    ) {
        precondition(window > 0 && capacity > 0)
        self.key = key
        self.window = window
        self.capacity = capacity
        self.now = now
    }

    /// The headers that sign a call of `method` to `path` (with its query) carrying `body`, and the
    /// digest of the client's token when it forwards a client's request.
    public func sign(method: String, path: String, body: some Sequence<UInt8>, credential: [UInt8]? = nil)
        -> [(HTTPField.Name, String)]
    {
        let time = String(now())
        var rng = SystemRandomNumberGenerator()
        let nonce = Hex.encode((0..<16).map { _ in UInt8.random(in: 0...255, using: &rng) })
        let credentialText = credential.map { "sha256=" + Hex.encode($0) }
        let mac = code(method: method, path: path, time: time, nonce: nonce, credential: credentialText, body: body)
        var headers = [(Header.time, time), (Header.nonce, nonce), (Header.signature, "v1=" + Hex.encode(mac))]
        if let credentialText { headers.append((Header.credential, credentialText)) }
        return headers
    }

    /// Checks a received call.
    ///
    /// - Throws: ``CoordinatorError`` `unauthenticated` when a header is missing or malformed, the
    ///   signature does not match, the timestamp is outside the window, or the nonce was seen;
    ///   `unavailable` when the nonce memory is full.
    public func verify(method: String, path: String, headers: HTTPFields, body: some Sequence<UInt8>) throws
        -> Verified
    {
        guard let time = headers[Header.time], let stamp = Int64(time), let nonce = headers[Header.nonce],
            nonce.utf8.count == 32, let signature = headers[Header.signature], signature.hasPrefix("v1="),
            let given = Hex.decode(String(signature.dropFirst(3))), given.count == 32
        else {
            throw CoordinatorError(.unauthenticated, "this call needs the cluster's signature")
        }
        let credentialText = headers[Header.credential]
        var credential: [UInt8]?
        if let credentialText {
            guard credentialText.hasPrefix("sha256="),
                let digest = Hex.decode(String(credentialText.dropFirst(7))),
                digest.count == 32
            else { throw CoordinatorError(.unauthenticated, "malformed forwarded credential") }
            credential = digest
        }
        let expected = code(
            method: method, path: path, time: time, nonce: nonce, credential: credentialText, body: body)
        // swift-crypto compares an authentication code with bytes in constant time.
        guard expected == given else {
            throw CoordinatorError(.unauthenticated, "the cluster signature does not match")
        }
        let current = now()
        guard abs(current - stamp) <= window else {
            throw CoordinatorError(.unauthenticated, "the cluster signature's time is outside the \(window) ms window")
        }
        try seen.withLock { seen in
            try seen.insert(nonce, expires: stamp + window, now: current, capacity: capacity)
        }
        return Verified(credential: credential)
    }

    /// The signature of an answer to the call that carried `nonce`: binding the answer to that call
    /// makes an old answer useless to replay, with nothing to remember.
    public func signAnswer(to nonce: String, status: Int, body: some Sequence<UInt8>) -> String {
        "v1=" + Hex.encode(answerCode(nonce: nonce, status: status, body: body))
    }

    /// Checks the answer to the call that carried `nonce`.
    ///
    /// - Throws: ``CoordinatorError`` `unauthenticated` when the answer's signature is missing or wrong.
    public func verifyAnswer(to nonce: String, status: Int, headers: HTTPFields, body: some Sequence<UInt8>) throws {
        guard let signature = headers[Header.signature], signature.hasPrefix("v1="),
            let given = Hex.decode(String(signature.dropFirst(3))),
            answerCode(nonce: nonce, status: status, body: body) == given
        else {
            throw CoordinatorError(.unauthenticated, "the answer is not signed with the cluster key")
        }
    }

    private func answerCode(nonce: String, status: Int, body: some Sequence<UInt8>) -> HashedAuthenticationCode<SHA256>
    {
        let bodyDigest = Hex.encode(Array(SHA256.hash(data: Array(body))))
        let message = ["tally-cluster-v1-answer", nonce, String(status), bodyDigest].joined(separator: "\n")
        return HMAC<SHA256>.authenticationCode(for: Array(message.utf8), using: SymmetricKey(data: key.bytes))
    }

    private func code(
        method: String, path: String, time: String, nonce: String, credential: String?, body: some Sequence<UInt8>
    ) -> HashedAuthenticationCode<SHA256> {
        let bodyDigest = Hex.encode(Array(SHA256.hash(data: Array(body))))
        let message = ["tally-cluster-v1", method, path, time, nonce, credential ?? "", bodyDigest].joined(
            separator: "\n")
        return HMAC<SHA256>.authenticationCode(for: Array(message.utf8), using: SymmetricKey(data: key.bytes))
    }

    package static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for i in a.indices { difference |= a[i] ^ b[i] }
        return difference == 0
    }
}

/// The nonces of accepted calls whose timestamps are still in the window.
struct SeenNonces {
    private var expiries: [String: Int64] = [:]
    /// The count at which expired nonces are next swept out (doubling, so sweeping is amortized O(1)).
    private var sweepAt = 1_024

    var count: Int { expiries.count }

    mutating func insert(_ nonce: String, expires: Int64, now: Int64, capacity: Int) throws {
        if let expiry = expiries[nonce], expiry > now {
            throw CoordinatorError(.unauthenticated, "this cluster call was already received (a replay)")
        }
        if expiries.count >= sweepAt {
            expiries = expiries.filter { $0.value > now }
            sweepAt = max(1_024, expiries.count * 2)
        }
        guard expiries.count < capacity else {
            throw CoordinatorError(.unavailable, "too many cluster calls in the replay window; retry")
        }
        expiries[nonce] = expires
    }
}
