import Domain
import Foundation
import Testing

@testable import Shard

/// `docs/openapi.yaml` states what the server accepts exactly enough for schemathesis's positive and
/// negative checks (`scripts/api-check.sh`, run by `make test`); these tests keep the parts that
/// come from tables in the code in step with them.
@Suite struct OpenAPITests {
    static let document: String = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return (try? String(contentsOf: root.appendingPathComponent("docs/openapi.yaml"), encoding: .utf8)) ?? ""
    }()

    @Test func everyCommandTypeHasItsOwnSchema() {
        #expect(!Self.document.isEmpty, "docs/openapi.yaml could not be read")
        for type in CommandRequest.types {
            #expect(Self.document.contains("type: { const: \(type) }"), "docs/openapi.yaml has no schema for \(type)")
        }
    }

    @Test func everySettingIsDocumentedWithItsRange() {
        for key in SettingKey.allCases {
            let range =
                "type: [integer, \"null\"], minimum: \(key.validRange.lowerBound), maximum: \(key.validRange.upperBound) }"
            #expect(
                Self.document.contains("        \(key): { \(range)"),
                "PUT /settings does not document \(key) as \(key.validRange)")
            #expect(
                Self.document.contains("setting: { const: \(key) }, value: { \(range)"),
                "set_setting does not document \(key) as \(key.validRange)")
        }
    }

    @Test func settingsKeysLeaveRoomForEverySettingName() {
        let longest = SettingKey.allCases.map { $0.description.utf8.count }.max() ?? 0
        #expect(SettingsChange.maxKeyBytes + 1 + longest <= 200)
        #expect(Self.document.contains("maxLength: \(SettingsChange.maxKeyBytes)"))
    }
}
