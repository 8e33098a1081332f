import Foundation
import Testing

@testable import Discord

/// The command set as Discord will register it.
@Suite struct SlashCommandTests {
    @Test func theCommandSetIsValidForDiscord() throws {
        let names = SlashCommand.tally.map(\.name)
        #expect(Set(names).count == names.count)
        #expect(SlashCommand.tally.count <= 100)
        func check(_ name: String, _ description: String) {
            #expect(
                (1...32).contains(name.count)
                    && name.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "-" || $0 == "_" }, "\(name)")
            #expect((1...100).contains(description.count), "\(name): \(description.count) characters")
        }
        func visit(_ options: [SlashCommand.Option]) {
            // Required options come first, as Discord demands.
            let required = options.map { $0.required == true }
            #expect(required == required.sorted { $0 && !$1 }, "\(options.map(\.name))")
            for option in options {
                check(option.name, option.description)
                visit(option.options ?? [])
            }
        }
        for command in SlashCommand.tally {
            check(command.name, command.description)
            visit(command.options)
        }
        let json = try JSONEncoder().encode(SlashCommand.tally)
        let decoded = try #require(try JSONSerialization.jsonObject(with: json) as? [[String: Any]])
        #expect(decoded.count == SlashCommand.tally.count)
    }

    @Test func pathsListEverySubCommand() {
        let raffle = SlashCommand.tally.first { $0.name == "raffle" }!
        #expect(raffle.paths.contains(["raffle", "draw"]))
        #expect(SlashCommand.tally.first { $0.name == "watchtime" }!.paths == [["watchtime"]])
    }

    @Test func aPingIsAnsweredWithExactlyTypeOne() {
        #expect(String(decoding: InteractionResponse.pong.json(), as: UTF8.self) == #"{"type":1}"#)
        let ephemeral = String(decoding: InteractionResponse.message("no", ephemeral: true).json(), as: UTF8.self)
        #expect(ephemeral.contains(#""flags":64"#) && ephemeral.contains(#""type":4"#))
    }

    @Test func anInteractionsCommandPathAndOptionsAreRead() throws {
        let json = #"""
            {"id":"1","type":2,"token":"t","guild_id":"5","member":{"user":{"id":"7"},"permissions":"32"},
             "data":{"name":"raffle","options":[{"name":"draw","type":1,"options":[{"name":"winners","type":4,"value":2}]}]}}
            """#
        let interaction = try Interaction(json: Data(json.utf8))
        #expect(interaction.commandPath.path == ["raffle", "draw"])
        #expect(interaction.commandPath.options["winners"] == .integer(2))
        #expect(interaction.memberHasPermission(Interaction.manageGuild))
        #expect(interaction.invoker?.id == "7")
        #expect(throws: DiscordError.self) { try Interaction(json: Data("[1]".utf8)) }
    }

    @Test func optionValuesKeepTheirTypes() throws {
        let json = #"""
            {"id":"1","type":2,"guild_id":"5","member":{"user":{"id":"7"},"permissions":"0"},
             "data":{"name":"x","options":[{"name":"a","type":4,"value":1},{"name":"b","type":5,"value":true},
             {"name":"c","type":10,"value":2.5},{"name":"d","type":6,"value":"80000000000000001"},
             {"name":"e","type":4,"value":0}]}}
            """#
        let options = try Interaction(json: Data(json.utf8)).commandPath.options
        #expect(options["a"] == .integer(1) && options["e"] == .integer(0))
        #expect(options["b"] == .bool(true))
        #expect(options["c"] == .number(2.5))
        #expect(options["d"] == .string("80000000000000001"))
    }
}
