import Foundation
import Logging
import PostgresNIO
import TallyTesting
import Testing

/// The throwaway PostgreSQL of the test harness: it starts, answers postgres-nio on loopback, gives
/// each caller its own database, and leaves nothing behind when stopped.
@Suite struct PostgresServerTests {
    @Test(.timeLimit(.minutes(2)))
    func sharedServerAnswersQueriesInAFreshDatabase() async throws {
        let server = try PostgresServer.shared()
        let database = try server.createDatabase()
        let connection = try await PostgresConnection.connect(
            configuration: .init(
                host: database.host, port: database.port, username: database.user, password: nil,
                database: database.name, tls: .disable),
            id: 1, logger: testLogger)
        do {
            let rows = try await connection.query("SELECT current_database(), version()", logger: testLogger)
            var seen: [(String, String)] = []
            for try await (name, version) in rows.decode((String, String).self) { seen.append((name, version)) }
            #expect(seen.count == 1)
            #expect(seen.first?.0 == database.name)
            #expect(seen.first?.1.hasPrefix("PostgreSQL") == true)

            try await connection.query("CREATE TABLE t (id bigint PRIMARY KEY, name text NOT NULL)", logger: testLogger)
            try await connection.query("INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c')", logger: testLogger)
            let sum = try await connection.query(
                "SELECT sum(id)::bigint, string_agg(name, ',' ORDER BY id) FROM t", logger: testLogger)
            var result: [(Int64, String)] = []
            for try await row in sum.decode((Int64, String).self) { result.append(row) }
            #expect(result.first?.0 == 6)
            #expect(result.first?.1 == "a,b,c")
        } catch {
            try? await connection.close()
            throw error
        }
        try await connection.close()

        // A second database is empty: the table above is not there.
        let other = try server.createDatabase()
        #expect(other.name != database.name)
        let output = try server.psql("SELECT count(*) FROM pg_tables WHERE tablename = 't'", database: other)
        #expect(output.contains("0"))
    }

    @Test(.timeLimit(.minutes(2)))
    func ownServerListensOnLoopbackOnlyAndIsRemovedWhenStopped() throws {
        let server = try PostgresServer.start()
        let database = try server.createDatabase()
        let listen = try server.psql("SHOW listen_addresses", database: database)
        #expect(listen.contains("127.0.0.1"))
        #expect(!listen.contains("*"))
        let hba = try String(contentsOfFile: server.dataDirectory + "/pg_hba.conf", encoding: .utf8)
        #expect(!hba.contains("0.0.0.0") && !hba.contains("::"))
        #expect(server.isRunning)
        try server.restart()
        #expect(try server.psql("SELECT 41 + 1", database: database).contains("42"))
        server.stop()
        #expect(!FileManager.default.fileExists(atPath: server.directory))
        server.stop()  // a second stop is harmless
    }

    @Test func missingBinariesFailWithAClearMessage() throws {
        var configuration = PostgresServer.Configuration()
        configuration.binDirectory = "/nonexistent/postgresql/bin"
        let error = #expect(throws: PostgresServerError.self) { try PostgresServer.start(configuration) }
        #expect(error?.description.contains("/nonexistent/postgresql/bin") == true)
    }
}
