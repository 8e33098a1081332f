import EventLog
import Foundation
import NIOSSL
import PostgresNIO

/// Where the PostgreSQL store is and how to reach it, parsed from a URL
/// `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=disable|prefer|require][&appends_in_flight=N]`.
public struct PostgresStoreConfiguration: Sendable {
    public var host: String
    /// Default 5432.
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    /// `disable`, `prefer` or `require`. Default `prefer`.
    public var sslMode: String
    /// Connections the pool may open. Default 16.
    public var maximumConnections = 16
    /// Batches of one partition whose commits may be in flight at once, each on a connection of
    /// the pool; they are acknowledged in offset order. Default 4 (URL: `appends_in_flight`, 1–64).
    public var appendsInFlight = 4

    /// Parses a `postgres://` or `postgresql://` URL.
    ///
    /// - Throws: ``EventLog/EventLogError`` `invalidArgument` naming what is wrong (never echoing a
    ///   password).
    public init(url: String) throws {
        guard let components = URLComponents(string: url), let scheme = components.scheme,
            scheme == "postgres" || scheme == "postgresql"
        else {
            throw EventLogError(.invalidArgument, "a store URL looks like postgres://user@host:5432/database")
        }
        guard let host = components.host, !host.isEmpty else {
            throw EventLogError(.invalidArgument, "the store URL names no host")
        }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty else { throw EventLogError(.invalidArgument, "the store URL names no database") }
        self.host = host
        self.port = components.port ?? 5432
        self.username = components.user?.removingPercentEncoding ?? "postgres"
        self.password = components.password?.removingPercentEncoding
        self.database = database
        let mode = components.queryItems?.first(where: { $0.name == "sslmode" })?.value ?? "prefer"
        guard ["disable", "prefer", "require"].contains(mode) else {
            throw EventLogError(.invalidArgument, "sslmode must be disable, prefer or require, not \(mode)")
        }
        self.sslMode = mode
        if let text = components.queryItems?.first(where: { $0.name == "appends_in_flight" })?.value {
            guard let value = Int(text), (1...64).contains(value) else {
                throw EventLogError(.invalidArgument, "appends_in_flight must be a number from 1 to 64, not \(text)")
            }
            appendsInFlight = value
        }
    }

    /// The URL without its password, for logs and messages.
    public var redacted: String { "postgres://\(username)@\(host):\(port)/\(database)" }

    var client: PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS =
            switch sslMode {
            case "disable": .disable
            case "require": .require(.makeClientConfiguration())
            default: .prefer(.makeClientConfiguration())
            }
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: tls)
        configuration.options.maximumConnections = maximumConnections
        configuration.options.connectTimeout = .seconds(5)
        return configuration
    }

    /// One connection of its own (the coordinator election holds its advisory lock on one).
    func connection() throws -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS =
            switch sslMode {
            case "disable": .disable
            case "require": .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
            default: .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
            }
        var configuration = PostgresConnection.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: tls)
        configuration.options.connectTimeout = .seconds(5)
        return configuration
    }
}
