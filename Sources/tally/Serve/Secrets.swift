import EventLog
import Foundation

/// The operator token and the raffle secret, generated at first start (`DIR/secrets.json`, mode 0600).
/// A generated token is printed once, and only when standard output is a terminal.
///
/// The raffle secret derives every period's seed, so it must never change under a data directory:
/// a `secrets.json` that exists but cannot be read or parsed stops the process instead of being
/// replaced by a new one. A new file is created atomically (temporary file, fsync, hard link, directory
/// fsync), so a crash leaves either no file or a whole one, and of processes started together on a
/// new directory one creates it and the others read it.
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

    struct Unreadable: Error, CustomStringConvertible {
        var path: String
        var reason: String
        var description: String {
            "\(path) exists but \(reason); refusing to start, since a new raffle secret would change every "
                + "period's seed (restore the file from a backup, or move it away to start afresh)"
        }
    }

    /// The secrets of `path`, nil when there is no such file.
    ///
    /// - Throws: ``Unreadable`` when the file exists but cannot be read or holds no valid secrets.
    private static func existing(at path: String) throws -> Secrets? {
        guard FileSystem.exists(path) else { return nil }
        let bytes: [UInt8]
        do { bytes = try FileSystem.readAll(path) } catch {
            throw Unreadable(path: path, reason: "cannot be read (\(error))")
        }
        let secrets: Secrets
        do { secrets = try JSONDecoder().decode(Secrets.self, from: Data(bytes)) } catch {
            throw Unreadable(path: path, reason: "is not valid secrets JSON")
        }
        guard secrets.raffleSecretHex.count == 64, secrets.raffleSecret.count == 32, !secrets.operatorToken.isEmpty
        else {
            throw Unreadable(path: path, reason: "holds no 32-byte raffle secret or no operator token")
        }
        return secrets
    }

    /// New secrets from the system's random number generator.
    private static func generated() -> Secrets {
        var rng = SystemRandomNumberGenerator()
        func random(_ bytes: Int) -> String {
            (0..<bytes).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &rng)) }.joined()
        }
        return Secrets(operatorToken: random(24), raffleSecretHex: random(32))
    }

    static func load(dataDirectory: String) throws -> Secrets {
        let path = FileSystem.join(dataDirectory, "secrets.json")
        var secrets: Secrets
        if let stored = try existing(at: path) {
            secrets = stored
        } else {
            secrets = generated()
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            // Processes started together on a new directory race here: exactly one creates the
            // file, and the others use what it wrote, so every process has the same raffle secret.
            if try FileSystem.createExclusively(
                Array(try encoder.encode(secrets)) + [0x0A], at: path, permissions: 0o600)
            {
                // Shown once, and only on a terminal: standard output redirected to a file or a log
                // collector would keep the token where logs go. It is always in the file (mode 0600).
                if isatty(STDOUT_FILENO) == 1 {
                    FileHandle.standardOutput.write(
                        Data("operator token: \(secrets.operatorToken) (saved in \(path))\n".utf8))
                } else {
                    FileHandle.standardOutput.write(
                        Data("operator token generated and saved in \(path) (not shown: not a terminal)\n".utf8))
                }
            } else if let winner = try existing(at: path) {
                secrets = winner
            }
        }
        if let token = ProcessInfo.processInfo.environment["TALLY_OPERATOR_TOKEN"], !token.isEmpty {
            secrets.operatorToken = token
        }
        return secrets
    }
}
