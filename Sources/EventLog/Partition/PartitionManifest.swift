import Foundation

/// The small per-partition file `manifest.json`: which partition the directory holds, the format
/// version of its files, and the epoch fence (the newest epoch any writer has opened it with).
package struct PartitionManifest: Codable, Equatable, Sendable {
    package static let fileName = "manifest.json"
    package static let currentFormat = 1

    package var format: Int
    package var partition: UInt32
    /// No writer with an older epoch may open the partition.
    package var fencedEpoch: UInt64

    package init(partition: PartitionID, fencedEpoch: Epoch) {
        self.format = PartitionManifest.currentFormat
        self.partition = partition.rawValue
        self.fencedEpoch = fencedEpoch.rawValue
    }

    package static func load(directory: String) throws -> PartitionManifest? {
        let path = FileSystem.join(directory, fileName)
        guard FileSystem.exists(path) else { return nil }
        let bytes = try FileSystem.readAll(path)
        do {
            let manifest = try JSONDecoder().decode(PartitionManifest.self, from: Data(bytes))
            guard manifest.format == currentFormat else {
                throw EventLogError(.unsupportedFormat, "partition manifest has format \(manifest.format)", path: path)
            }
            return manifest
        } catch let error as EventLogError {
            throw error
        } catch {
            throw EventLogError(
                .corruption, "partition manifest is not valid JSON", path: path,
                underlying: error)
        }
    }

    package func save(directory: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data: Data
        do { data = try encoder.encode(self) } catch {
            preconditionFailure("a manifest always encodes: \(error)")
        }
        try FileSystem.writeAtomically(Array(data) + [0x0A], to: FileSystem.join(directory, PartitionManifest.fileName))
    }
}
