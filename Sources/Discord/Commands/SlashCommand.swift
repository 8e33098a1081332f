/// An application command as Discord registers it (`PUT /applications/{app}/commands`).
public struct SlashCommand: Encodable, Sendable, Equatable {
    public var name: String
    public var description: String
    public var options: [Option]
    /// CHAT_INPUT.
    public var type = 1
    /// Guild-only: interaction context 0 (guild).
    public var contexts = [0]

    public init(_ name: String, _ description: String, _ options: [Option] = []) {
        self.name = name
        self.description = description
        self.options = options
    }

    /// An option, a sub-command or a group.
    public struct Option: Encodable, Sendable, Equatable {
        public var type: Int
        public var name: String
        public var description: String
        public var required: Bool?
        public var options: [Option]?
        public var choices: [Choice]?
        public var minValue: Int64?
        public var maxValue: Int64?

        enum CodingKeys: String, CodingKey {
            case type, name, description, required, options, choices, minValue = "min_value", maxValue = "max_value"
        }

        public static func sub(_ name: String, _ description: String, _ options: [Option] = []) -> Option {
            Option(type: 1, name: name, description: description, options: options)
        }
        public static func string(
            _ name: String, _ description: String, required: Bool = true, choices: [String]? = nil
        )
            -> Option
        {
            Option(
                type: 3, name: name, description: description, required: required,
                choices: choices?.map { Choice(name: $0, value: $0) })
        }
        public static func integer(
            _ name: String, _ description: String, required: Bool = true, min: Int64? = nil, max: Int64? = nil
        ) -> Option {
            Option(type: 4, name: name, description: description, required: required, minValue: min, maxValue: max)
        }
        public static func boolean(_ name: String, _ description: String, required: Bool = true) -> Option {
            Option(type: 5, name: name, description: description, required: required)
        }
        public static func user(_ name: String, _ description: String, required: Bool = true) -> Option {
            Option(type: 6, name: name, description: description, required: required)
        }
        public static func channel(_ name: String, _ description: String, required: Bool = true) -> Option {
            Option(type: 7, name: name, description: description, required: required)
        }
        public static func role(_ name: String, _ description: String, required: Bool = true) -> Option {
            Option(type: 8, name: name, description: description, required: required)
        }
    }

    public struct Choice: Encodable, Sendable, Equatable {
        public var name: String
        public var value: String
    }

    /// Every command path (`["raffle", "draw"]`) this command can be invoked with.
    public var paths: [[String]] {
        let subs = options.filter { $0.type == 1 || $0.type == 2 }
        guard !subs.isEmpty else { return [[name]] }
        return subs.flatMap { sub -> [[String]] in
            if sub.type == 2 { return (sub.options ?? []).map { [name, sub.name, $0.name] } }
            return [[name, sub.name]]
        }
    }
}
