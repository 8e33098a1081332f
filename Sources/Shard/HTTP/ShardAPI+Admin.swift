import EventLog
import Foundation
public import Hummingbird
import Projections

/// The operator's endpoints (`/v1/admin/…`, each behind the operator token): online rebuilds,
/// backups and the status overview.
extension ShardAPI {
    func registerAdmin(on router: Router<BasicRequestContext>) -> [(String, [HTTPRequest.Method])] {
        guard let operations else { return [] }
        let rebuilds = operations.rebuilds
        router.post("/v1/admin/rebuilds") { request, _ in
            try authorizer.requireOperator(request)
            let parsed = try await Self.decodeAdmin(
                RebuildJobs.Request.self, request, or: RebuildJobs.Request(),
                shape: "{\"projections\": [names], \"guild\": \"snowflake\"}")
            return EditedResponse(status: .accepted, response: try rebuilds.start(parsed))
        }
        router.get("/v1/admin/rebuilds") { request, _ in
            try authorizer.requireOperator(request)
            return RebuildList(rebuilds: rebuilds.all)
        }
        router.get("/v1/admin/rebuilds/:id") { request, context in
            try authorizer.requireOperator(request)
            let id = try Self.parameter(context, "id")
            guard let job = rebuilds.job(id) else { throw APIError(.unknownRebuild, "no rebuild \(id)") }
            return job
        }
        router.post("/v1/admin/backups") { request, _ in
            try authorizer.requireOperator(request)
            let parsed = try await Self.decodeAdmin(
                BackupRequest.self, request, or: nil, shape: "{\"name\": \"2026-11-30\"}")
            guard Operations.isBackupName(parsed.name) else {
                throw APIError(
                    .invalidValue, "a backup name is 1 to 100 letters, digits, '.', '_' or '-', not starting with '.'")
            }
            do {
                return try await operations.backup(named: parsed.name)
            } catch let error as EventLogError where error.code == .invalidArgument {
                throw APIError(.backupExists, error.message)
            } catch let error as EventLogError {
                throw APIError(.backupFailed, "\(error)", underlying: error)
            } catch let error as ProjectionsError {
                throw APIError(.backupFailed, "\(error)", underlying: error)
            }
        }
        router.get("/v1/admin/status") { request, _ in
            try authorizer.requireOperator(request)
            return await operations.status()
        }
        return [
            ("/v1/admin/rebuilds", [.get, .post]), ("/v1/admin/rebuilds/:id", [.get]), ("/v1/admin/backups", [.post]),
            ("/v1/admin/status", [.get]),
        ]
    }

    /// An admin request's JSON body; an empty body is `empty` when that is allowed.
    static func decodeAdmin<T: Decodable>(_ type: T.Type, _ request: Request, or empty: T?, shape: String)
        async throws -> T
    {
        let body = try await Self.body(of: request)
        if body.readableBytes == 0, let empty { return empty }
        do { return try JSONDecoder().decode(T.self, from: Data(buffer: body)) } catch {
            throw APIError(.malformedJSON, "the body is \(shape)")
        }
    }
}

/// `POST /v1/admin/backups`: the backup's name (its directory under the service's backup root).
struct BackupRequest: Decodable {
    var name: String
}

/// `GET /v1/admin/rebuilds`: every rebuild of this process, newest first.
struct RebuildList: ResponseEncodable {
    var rebuilds: [RebuildJobs.Job]
}

extension DataBackup.Manifest: ResponseEncodable {}

extension Operations.Status: ResponseEncodable {}
