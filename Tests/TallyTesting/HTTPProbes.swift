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

    /// Partition → owner, from a coordinator's `/v1/cluster`.
    public static func owners(_ coordinator: String) async -> [Int: String] {
        guard let data = await get(coordinator + "/v1/cluster"),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let partitions = object["partitions"] as? [[String: Any]]
        else { return [:] }
        var out: [Int: String] = [:]
        for p in partitions { if let i = p["partition"] as? Int, let o = p["owner"] as? String { out[i] = o } }
        return out
    }
}
