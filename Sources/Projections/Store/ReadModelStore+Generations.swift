public import EventLog
import Foundation

/// Where a data directory keeps a partition's read models, and how an online rebuild replaces them.
///
/// A partition's read models live in `DIR/readmodels/pNNNNN.sqlite` (generation 0) or, after online
/// rebuilds, `pNNNNN.gK.sqlite`; the highest generation present is the live one. An online rebuild
/// writes `pNNNNN.gK.sqlite.building`, closes it and renames it to `pNNNNN.gK.sqlite`: the rename is
/// the commit, so a crash leaves either the old generation live or the new one complete. A new
/// generation gets a new name (never a rename over a database someone has open, whose `-wal` file
/// would then belong to another database); older generations are deleted once nothing uses them.
extension ReadModelStore {
    /// The live read models of `partition`: the highest generation present, or generation 0's path
    /// when there is none yet.
    public static func path(dataDirectory: DataDirectory, partition: PartitionID) -> String {
        generations(dataDirectory: dataDirectory, partition: partition).last?.path
            ?? path(dataDirectory: dataDirectory, partition: partition, generation: 0)
    }

    /// The path of one generation of a partition's read models.
    public static func path(dataDirectory: DataDirectory, partition: PartitionID, generation: Int) -> String {
        dataDirectory.path + "/readmodels/" + partition.directoryName
            + (generation == 0 ? "" : ".g\(generation)") + ".sqlite"
    }

    /// The generations of `partition`'s read models present, oldest first.
    public static func generations(dataDirectory: DataDirectory, partition: PartitionID)
        -> [(generation: Int, path: String)]
    {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dataDirectory.path + "/readmodels")) ?? []
        let stem = partition.directoryName
        return names.compactMap { name -> (Int, String)? in
            guard name.hasPrefix(stem + "."), name.hasSuffix(".sqlite") else { return nil }
            let middle = name.dropFirst(stem.count + 1).dropLast(".sqlite".count)
            let generation: Int
            if middle.isEmpty {
                generation = 0
            } else if middle.hasPrefix("g"), let n = Int(middle.dropFirst()), n > 0 {
                generation = n
            } else {
                return nil
            }
            return (generation, path(dataDirectory: dataDirectory, partition: partition, generation: generation))
        }.sorted { $0.0 < $1.0 }
    }

    /// The generation after the live one.
    public static func nextGeneration(dataDirectory: DataDirectory, partition: PartitionID) -> Int {
        (generations(dataDirectory: dataDirectory, partition: partition).last?.generation ?? 0) + 1
    }

    /// Deletes every generation older than the live one and any unfinished `.building` database
    /// (after a crash, or once an online rebuild's diff is done).
    public static func removeStaleGenerations(dataDirectory: DataDirectory, partition: PartitionID) {
        let live = path(dataDirectory: dataDirectory, partition: partition)
        let stale = generations(dataDirectory: dataDirectory, partition: partition).map(\.path).filter { $0 != live }
        let directory = dataDirectory.path + "/readmodels/"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let building = names.filter { $0.hasPrefix(partition.directoryName + ".") && $0.hasSuffix(".building") }
            .map { directory + $0 }
        for file in stale + building { removeDatabase(at: file) }
    }

    /// Removes a SQLite database and its `-wal` and `-shm` files, if present.
    package static func removeDatabase(at path: String) {
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    }
}
