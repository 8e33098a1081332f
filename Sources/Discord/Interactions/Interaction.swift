public import Foundation

/// An interaction Discord posted, as far as Tally reads it. Decode only after
/// ``InteractionVerifier`` accepted the body.
public struct Interaction: Decodable, Sendable {
    /// Interaction types.
    public struct Kind: RawRepresentable, Hashable, Sendable, Decodable {
        public var rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        public static let ping = Kind(rawValue: 1)
        public static let applicationCommand = Kind(rawValue: 2)
        public static let messageComponent = Kind(rawValue: 3)
        public static let autocomplete = Kind(rawValue: 4)
        public static let modalSubmit = Kind(rawValue: 5)
    }

    public struct User: Decodable, Sendable {
        public var id: String
        public var username: String?
        public var globalName: String?
    }

    public struct Member: Decodable, Sendable {
        public var user: User?
        /// The member's permissions in the channel, a decimal bit set.
        public var permissions: String?
        public var roles: [String]?
    }

    /// A command option: a value, or the nested options of a sub-command or group.
    public struct Option: Decodable, Sendable {
        public var name: String
        public var type: Int
        public var value: Value?
        public var options: [Option]?
    }

    /// An option's value.
    public enum Value: Decodable, Sendable, Equatable {
        case string(String)
        case integer(Int64)
        case number(Double)
        case bool(Bool)

        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            // Numbers first: a decoder that read 1 as `true` would turn an amount of 1 into a flag.
            if let i = try? container.decode(Int64.self) {
                self = .integer(i)
            } else if let d = try? container.decode(Double.self) {
                self = .number(d)
            } else if let b = try? container.decode(Bool.self) {
                self = .bool(b)
            } else {
                self = .string(try container.decode(String.self))
            }
        }

        /// The value as text (ids of users, roles and channels come as strings).
        public var text: String {
            switch self {
            case .string(let s): s
            case .integer(let i): String(i)
            case .number(let d): String(d)
            case .bool(let b): String(b)
            }
        }
    }

    public struct Payload: Decodable, Sendable {
        /// The command's name (application commands).
        public var name: String?
        public var options: [Option]?
        /// The clicked component's id (message components).
        public var customID: String?
        public var componentType: Int?

        enum CodingKeys: String, CodingKey {
            case name, options, customID = "customId", componentType
        }
    }

    public var id: String
    public var type: Kind
    public var applicationID: String?
    public var token: String?
    public var guildID: String?
    public var channelID: String?
    public var member: Member?
    /// The user, in a DM (in a guild it is `member.user`).
    public var user: User?
    public var data: Payload?
    /// The message a clicked component is on.
    public var message: MessageReference?

    public struct MessageReference: Decodable, Sendable {
        public var id: String
    }

    /// Decodes a verified body.
    ///
    /// - Throws: ``DiscordError`` `malformed`.
    public init(json: Data) throws {
        do {
            self = try Self.decoder.decode(Interaction.self, from: json)
        } catch {
            throw DiscordError(.malformed, "the body is not an interaction")
        }
    }

    enum CodingKeys: String, CodingKey {
        case id, type, applicationID = "applicationId", token, guildID = "guildId", channelID = "channelId", member,
            user, data, message
    }

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }()

    /// Who used it: the member's user in a guild, the user in a DM.
    public var invoker: User? { member?.user ?? user }

    /// The command's path and leaf options: `/raffle draw winners:2` → (["raffle", "draw"], [winners]).
    public var commandPath: (path: [String], options: [String: Value]) {
        guard let name = data?.name else { return ([], [:]) }
        var path = [name]
        var options = data?.options ?? []
        while let sub = options.first, sub.type == 1 || sub.type == 2 {
            path.append(sub.name)
            options = sub.options ?? []
        }
        var values: [String: Value] = [:]
        for option in options { if let value = option.value { values[option.name] = value } }
        return (path, values)
    }

    /// Whether the member's permissions include `bit`.
    public func memberHasPermission(_ bit: UInt64) -> Bool {
        guard let text = member?.permissions, let value = UInt64(text) else { return false }
        return value & bit != 0
    }

    /// MANAGE_GUILD.
    public static let manageGuild: UInt64 = 1 << 5
}
