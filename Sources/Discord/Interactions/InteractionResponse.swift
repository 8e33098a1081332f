public import Foundation

/// What Tally answers an interaction with.
public struct InteractionResponse: Encodable, Sendable, Equatable {
    /// Response types.
    public struct Kind: RawRepresentable, Hashable, Sendable, Encodable {
        public var rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        public static let pong = Kind(rawValue: 1)
        public static let message = Kind(rawValue: 4)
        public static let deferredMessage = Kind(rawValue: 5)
        public static let deferredUpdate = Kind(rawValue: 6)
        public static let updateMessage = Kind(rawValue: 7)

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(rawValue)
        }
    }

    public var type: Kind
    public var data: Message?

    public init(type: Kind, data: Message? = nil) {
        self.type = type
        self.data = data
    }

    /// `{"type":1}`.
    public static let pong = InteractionResponse(type: .pong)

    /// A message, visible only to the user when `ephemeral`.
    public static func message(_ content: String, ephemeral: Bool = false, buttons: [Button] = [])
        -> InteractionResponse
    {
        InteractionResponse(type: .message, data: Message(content: content, ephemeral: ephemeral, buttons: buttons))
    }

    /// "Thinking…" (type 5): the answer follows by editing the original response. An ephemeral
    /// deferral makes the answer visible only to the user (the flag cannot change later).
    public static func deferred(ephemeral: Bool) -> InteractionResponse {
        InteractionResponse(
            type: .deferredMessage, data: ephemeral ? Message(content: "", ephemeral: true, buttons: []) : nil)
    }

    /// Replaces the message a button was on.
    public static func update(_ content: String, buttons: [Button] = []) -> InteractionResponse {
        InteractionResponse(type: .updateMessage, data: Message(content: content, ephemeral: false, buttons: buttons))
    }

    public struct Message: Encodable, Sendable, Equatable {
        public var content: String
        public var flags: Int?
        public var components: [ActionRow]?
        /// Tally never pings anyone by accident.
        public var allowedMentions = AllowedMentions()

        public init(content: String, ephemeral: Bool, buttons: [Button]) {
            self.content = InteractionResponse.clipped(content)
            flags = ephemeral ? 64 : nil
            // Five buttons a row, five rows a message.
            let rows = stride(from: 0, to: min(buttons.count, 25), by: 5).map {
                ActionRow(components: Array(buttons[$0..<min($0 + 5, buttons.count)]))
            }
            components = rows.isEmpty ? nil : rows
        }

        enum CodingKeys: String, CodingKey {
            case content, flags, components, allowedMentions = "allowed_mentions"
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            if !content.isEmpty { try container.encode(content, forKey: .content) }
            try container.encodeIfPresent(flags, forKey: .flags)
            try container.encodeIfPresent(components, forKey: .components)
            try container.encode(allowedMentions, forKey: .allowedMentions)
        }

        /// The body that edits a deferred response into this message (`PATCH …/messages/@original`):
        /// its content, buttons and mentions; the ephemeral flag was set by the deferral and cannot change.
        public func editJSON() -> String {
            var edit = self
            edit.flags = nil
            if edit.content.isEmpty { edit.content = "Done." }
            return String(
                decoding: InteractionResponse.encoded(edit) ?? Data(#"{"content":"Done."}"#.utf8), as: UTF8.self)
        }
    }

    public struct AllowedMentions: Encodable, Sendable, Equatable {
        public var parse: [String] = []
    }

    public struct ActionRow: Encodable, Sendable, Equatable {
        public var type = 1
        public var components: [Button]
    }

    /// A button: one with a `customID` comes back as a component interaction; a link button opens `url`.
    public struct Button: Encodable, Sendable, Equatable {
        public var type = 2
        public var style: Int
        public var label: String
        public var customID: String?
        public var url: String?

        public static func primary(_ label: String, id: String) -> Button {
            Button(style: 1, label: label, customID: id)
        }
        public static func success(_ label: String, id: String) -> Button {
            Button(style: 3, label: label, customID: id)
        }
        public static func danger(_ label: String, id: String) -> Button {
            Button(style: 4, label: label, customID: id)
        }
        public static func link(_ label: String, url: String) -> Button { Button(style: 5, label: label, url: url) }

        enum CodingKeys: String, CodingKey {
            case type, style, label, customID = "custom_id", url
        }
    }

    /// Discord's limit on a message's content.
    public static let contentLimit = 2000

    /// `text` cut to Discord's 2000 characters.
    static func clipped(_ text: String) -> String {
        text.count <= contentLimit ? text : String(text.prefix(contentLimit - 1)) + "…"
    }

    /// The JSON body.
    public func json() -> Data {
        // Every field is a plain value: encoding cannot fail.
        Self.encoded(self) ?? Data(#"{"type":1}"#.utf8)
    }

    static func encoded(_ value: some Encodable) -> Data? {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try? encoder.encode(value)
    }
}
