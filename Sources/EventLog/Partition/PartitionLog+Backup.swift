/// Copying a partition's log while it is written: `tally backup`.
extension PartitionLog {
    /// What ``backup(to:)`` copied.
    public struct BackupReport: Sendable, Equatable {
        /// Every record below this offset is in the copy; nothing at or above it is.
        public var endOffset: Offset
        public var segments: Int
        public var bytes: Int64
    }

    /// Copies the log's readable prefix, as it is when called, into `destination` (a new partition
    /// directory): sealed segments whole (they never change), the active one up to the end of its
    /// last durable batch, an index per segment rebuilt from the entries copied, the manifest, and a
    /// recovery point at the copy's end. Everything is fsynced before this returns. Safe while a
    /// writer appends (it only reads, through the batches the index names); blocks on file I/O.
    ///
    /// - Throws: ``EventLogError`` `io` when a file cannot be read or written, `invalidArgument` when
    ///   `destination` already holds a log.
    public func backup(to destination: String) throws -> BackupReport {
        // One consistent view: the segments and their entries up to the durable end, taken at once.
        let (segments, end) = state.values.withLock { v in (v.segments, v.endOffset) }
        try FileSystem.createDirectory(destination, durable: true)
        guard try SegmentFile.baseOffsets(in: destination).isEmpty else {
            throw EventLogError(.invalidArgument, "a partition log is already there", path: destination)
        }
        var bytes: Int64 = 0
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        for segment in segments {
            let length = segment.entries.last?.end ?? 0
            let stem = SegmentFile.stem(segment.file.baseOffset)
            let out = try FileDescriptor(
                path: FileSystem.join(destination, stem + SegmentFile.logSuffix), mode: .createReadWrite)
            defer { out.close() }
            var position: Int64 = 0
            while position < length {
                let want = Int(min(Int64(buffer.count), length - position))
                let n = try buffer.withUnsafeMutableBytes { raw in
                    try segment.file.reader.read(
                        into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<want]), at: position)
                }
                guard n == want else {
                    throw EventLogError(
                        .io, "segment ended at byte \(position + Int64(n)) of \(length) while being copied",
                        path: segment.file.logPath, position: position + Int64(n))
                }
                try buffer.withUnsafeBytes { raw in
                    try out.write(UnsafeRawBufferPointer(rebasing: raw[0..<want]), at: position)
                }
                position += Int64(want)
            }
            try out.sync()
            try SegmentIndexFile.write(
                segment.entries, path: FileSystem.join(destination, stem + SegmentFile.indexSuffix),
                baseOffset: segment.file.baseOffset)
            bytes += length
        }
        if segments.isEmpty { try SegmentFile.createFirst(in: destination) }
        let manifest =
            try PartitionManifest.load(directory: directory)
            ?? PartitionManifest(partition: partition, fencedEpoch: newestEpoch ?? Epoch(0))
        try manifest.save(directory: destination)
        let point = try RecoveryPointWriter(directory: destination, current: nil)
        try point.advance(to: end, force: true)
        point.close()
        try FileSystem.syncDirectory(destination)
        return BackupReport(endOffset: end, segments: max(segments.count, 1), bytes: bytes)
    }
}
