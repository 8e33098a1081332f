import Foundation
import NIOSSL
public import PostgresNIO

/// A PostgreSQL connection string, `postgresql://user[:password]@host[:port]/database[?sslmode=…]`
/// (also `postgres://`), as libpq spells it.
///
/// `sslmode` is `disable`, `prefer` (the default, as libpq's) or `require`; `host` may be a
/// bracketed IPv6 address; user and password are percent-decoded.
public struct LegacyDSN: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    public var sslMode: String

    /// Parses `text`.
    ///
    /// - Throws: ``LegacyImportError`` with code `invalidDSN` naming what is wrong.
    public init(parsing text: String) throws {
        guard let components = URLComponents(string: text), let scheme = components.scheme,
            scheme == "postgresql" || scheme == "postgres"
        else {
            throw LegacyImportError(.invalidDSN, "expected postgresql://user[:password]@host[:port]/database")
        }
        guard let host = components.host, !host.isEmpty else {
            throw LegacyImportError(.invalidDSN, "the connection string names no host")
        }
        self.host = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        self.port = components.port ?? 5432
        self.user = components.user.flatMap { $0.removingPercentEncoding } ?? "postgres"
        self.password = components.password.flatMap { $0.removingPercentEncoding }
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        guard !path.isEmpty else { throw LegacyImportError(.invalidDSN, "the connection string names no database") }
        self.database = path.removingPercentEncoding ?? path
        let mode = components.queryItems?.first(where: { $0.name == "sslmode" })?.value ?? "prefer"
        guard ["disable", "prefer", "require"].contains(mode) else {
            throw LegacyImportError(.invalidDSN, "sslmode must be disable, prefer or require, not \(mode)")
        }
        self.sslMode = mode
    }

    /// The DSN without its password, for messages and reports.
    public var description: String { "postgresql://\(user)@\(host):\(port)/\(database)?sslmode=\(sslMode)" }

    /// The connection configuration postgres-nio takes.
    public func configuration() throws -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS
        switch sslMode {
        case "disable": tls = .disable
        default:
            let context = try NIOSSLContext(configuration: .makeClientConfiguration())
            tls = sslMode == "require" ? .require(context) : .prefer(context)
        }
        return PostgresConnection.Configuration(
            host: host, port: port, username: user, password: password, database: database, tls: tls)
    }
}
