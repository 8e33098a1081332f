public import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// What tests that start real processes ask them over HTTP.
public enum HTTPProbes {
    /// Polls `http://127.0.0.1:PORT/health` every 50 ms until it answers 200; false after `seconds`.
    public static func waitForHealth(port: Int, seconds: Int = 10) async -> Bool {
        for _ in 0..<(seconds * 20) {
            if let (_, response) = try? await URLSession.shared.data(
                from: URL(string: "http://127.0.0.1:\(port)/health")!),
                (response as? HTTPURLResponse)?.statusCode == 200
            {
                return true
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    /// The body of a 200 answer to a GET of `url`, or nil.
    public static func get(_ url: String) async -> Data? {
        guard let (data, response) = try? await URLSession.shared.data(from: URL(string: url)!),
            (response as? HTTPURLResponse)?.statusCode == 200
        else { return nil }
        return data
    }

    /// The status of a GET of `url`, or nil when nothing answered within 2 s.
    public static func status(_ url: String) async -> Int? {
        var request = URLRequest(url: URL(string: url)!)
        request.timeoutInterval = 2
        guard let (_, response) = try? await URLSession.shared.data(for: request) else { return nil }
        return (response as? HTTPURLResponse)?.statusCode
    }

    /// The status of a POST of `body` (JSON) to `url` with `token` as bearer, or nil when nothing
    /// answered within 2 s.
    public static func post(_ url: String, json body: String, token: String) async -> Int? {
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = "POST"
        request.timeoutInterval = 2
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        request.httpBody = Data(body.utf8)
        guard let (_, response) = try? await URLSession.shared.data(for: request) else { return nil }
        return (response as? HTTPURLResponse)?.statusCode
    }

    /// A partition's owner and epoch as a coordinator tells them.
    public struct Assignment: Hashable, Sendable, CustomStringConvertible {
        public var owner: String
        public var epoch: Int
        public var description: String { "\(owner)@\(epoch)" }
    }

    /// Partition → owner and epoch, from a coordinator's `/v1/cluster` (empty unless it is the active one).
    public static func assignments(_ coordinator: String) async -> [Int: Assignment] {
        guard let data = await get(coordinator + "/v1/cluster"),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let partitions = object["partitions"] as? [[String: Any]]
        else { return [:] }
        var out: [Int: Assignment] = [:]
        for p in partitions {
            if let i = p["partition"] as? Int, let owner = p["owner"] as? String {
                out[i] = Assignment(owner: owner, epoch: p["epoch"] as? Int ?? 0)
            }
        }
        return out
    }

    /// Partition → owner, from a coordinator's `/v1/cluster`.
    public static func owners(_ coordinator: String) async -> [Int: String] {
        await assignments(coordinator).mapValues(\.owner)
    }
}
