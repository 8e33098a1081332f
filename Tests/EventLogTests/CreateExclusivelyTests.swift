import EventLog
import Foundation
import TallyTesting
import Testing

@Suite struct CreateExclusivelyTests {
    @Test func exactlyOneOfManyRacingWritersCreatesTheFile() async throws {
        let dir = TemporaryDirectory()
        let path = dir.sub("secrets.json")
        let created = await withTaskGroup(of: Bool.self) { group in
            for writer in 0..<8 {
                group.addTask {
                    (try? FileSystem.createExclusively(Array("writer \(writer)\n".utf8), at: path)) ?? false
                }
            }
            var count = 0
            for await won in group where won { count += 1 }
            return count
        }
        #expect(created == 1)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.hasPrefix("writer "))
        #expect(try FileSystem.createExclusively(Array("late\n".utf8), at: path) == false)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == text, "an existing file is never replaced")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["secrets.json"], "no temporary left")
        // A later writer replaces it atomically, through a temporary of its own that it leaves nowhere.
        try FileSystem.writeAtomically(Array("new\n".utf8), to: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "new\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["secrets.json"])
    }
}
