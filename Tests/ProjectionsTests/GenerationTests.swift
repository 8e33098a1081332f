import EventLog
import Foundation
import TallyTesting
import Testing

@testable import Projections

/// Read-model generations: the highest present is live; stale ones and unfinished builds are removed.
@Suite struct GenerationTests {
    @Test func theHighestGenerationIsLiveAndStaleOnesAreRemoved() throws {
        let dir = TemporaryDirectory()
        let data = try DataDirectory.open(path: dir.path, creatingWith: 4)
        let p = PartitionID(2)
        try FileManager.default.createDirectory(atPath: dir.sub("readmodels"), withIntermediateDirectories: true)
        #expect(ReadModelStore.path(dataDirectory: data, partition: p) == dir.sub("readmodels/p00002.sqlite"))
        #expect(ReadModelStore.nextGeneration(dataDirectory: data, partition: p) == 1)
        for name in [
            "p00002.sqlite", "p00002.g3.sqlite", "p00002.g3.sqlite-wal", "p00002.g4.sqlite.building",
            "p00001.g9.sqlite", "p00002.gx.sqlite", "p00002.sqlite.set-aside-5",
        ] {
            #expect(FileManager.default.createFile(atPath: dir.sub("readmodels/" + name), contents: Data()))
        }
        #expect(ReadModelStore.generations(dataDirectory: data, partition: p).map(\.generation) == [0, 3])
        #expect(ReadModelStore.path(dataDirectory: data, partition: p) == dir.sub("readmodels/p00002.g3.sqlite"))
        #expect(ReadModelStore.nextGeneration(dataDirectory: data, partition: p) == 4)
        ReadModelStore.removeStaleGenerations(dataDirectory: data, partition: p)
        let left = Set(try FileManager.default.contentsOfDirectory(atPath: dir.sub("readmodels")))
        // Generation 0 and the unfinished build are gone; the live one, other partitions and files
        // that are not generations stay.
        #expect(
            left == [
                "p00002.g3.sqlite", "p00002.g3.sqlite-wal", "p00001.g9.sqlite", "p00002.gx.sqlite",
                "p00002.sqlite.set-aside-5",
            ])
    }
}
