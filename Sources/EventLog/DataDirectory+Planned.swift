extension DataDirectory {
    /// A data directory that does not exist (yet): its partition of each guild, without creating
    /// anything. For commands that only plan (`tally import-legacy --dry-run` on a new directory).
    package static func planned(path: String, partitionCount: Int) -> DataDirectory {
        DataDirectory(path: path, partitionCount: partitionCount)
    }
}
