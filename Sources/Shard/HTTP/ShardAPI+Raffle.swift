import Domain
import EventLog
import Hummingbird

extension ShardAPI {
    /// `GET /v1/guilds/{guild}/raffle/periods/{period}`: the period as anyone verifying its draws needs
    /// it (see ``RafflePeriodResponse``), from the owner's state.
    func rafflePeriod(_ context: BasicRequestContext) async throws -> RafflePeriodResponse {
        let guild = try guildID(context)
        let periodText = try Self.parameter(context, "period")
        guard let n = UInt32(periodText), n > 0 else {
            throw APIError(.invalidPeriodID, "a period is a positive integer, not \(periodText)")
        }
        guard let state = try await nodes.node(for: guild).owner(for: guild).state(of: guild) else {
            throw APIError(.unknownGuild, "guild \(guild) has no history")
        }
        guard let response = RafflePeriodResponse(state: state, period: PeriodID(n)) else {
            throw APIError(.unknownPeriod, "guild \(guild) has no raffle period \(n)")
        }
        return response
    }
}
