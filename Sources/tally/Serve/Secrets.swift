import Foundation

/// The operator token and the raffle secret, generated at first start (`DIR/secrets.json`, mode 0600).
struct Secrets: Codable {
    var operatorToken: String
    var raffleSecretHex: String

    var raffleSecret: [UInt8] {
        stride(from: 0, to: raffleSecretHex.count, by: 2).compactMap { i in
            let start = raffleSecretHex.index(raffleSecretHex.startIndex, offsetBy: i)
            return UInt8(raffleSecretHex[start..<raffleSecretHex.index(start, offsetBy: 2)], radix: 16)
        }
    }

    enum CodingKeys: String, CodingKey {
        case operatorToken = "operator_token"
        case raffleSecretHex = "raffle_secret"
    }

    static func load(dataDirectory: String) throws -> Secrets {
        let path = dataDirectory + "/secrets.json"
        var secrets: Secrets
        if let data = FileManager.default.contents(atPath: path) {
            secrets = try JSONDecoder().decode(Secrets.self, from: data)
        } else {
            var rng = SystemRandomNumberGenerator()
            func random(_ bytes: Int) -> String {
                (0..<bytes).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &rng)) }.joined()
            }
            secrets = Secrets(operatorToken: random(24), raffleSecretHex: random(32))
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            guard
                FileManager.default.createFile(
                    atPath: path, contents: try encoder.encode(secrets), attributes: [.posixPermissions: 0o600])
            else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path]) }
            FileHandle.standardOutput.write(Data("operator token: \(secrets.operatorToken) (saved in \(path))\n".utf8))
        }
        if let token = ProcessInfo.processInfo.environment["TALLY_OPERATOR_TOKEN"], !token.isEmpty {
            secrets.operatorToken = token
        }
        return secrets
    }
}
