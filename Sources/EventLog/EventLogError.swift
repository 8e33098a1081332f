import Glibc

/// An error from the partition log.
///
/// `code` says what went wrong in a way a program can match on; `message` is safe to show an operator
/// and names the file and byte position where there is one. Codes are static members of a struct so
/// that adding one breaks no caller.
public struct EventLogError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// A checksum, magic number or length in stored data is wrong.
        public static let corruption = Code("corruption")
        /// Another process (or another handle in this one) holds the partition's write lock.
        public static let locked = Code("locked")
        /// The writer's epoch is older than one already written or fenced for the partition.
        public static let staleEpoch = Code("stale_epoch")
        /// The caller passed something the log cannot store (an oversized record, an empty append).
        public static let invalidArgument = Code("invalid_argument")
        /// The log was closed before or while the operation ran.
        public static let closed = Code("closed")
        /// An operating-system call failed; `underlying` holds errno's description.
        public static let io = Code("io")
        /// The files were written by a format version this build cannot read.
        public static let unsupportedFormat = Code("unsupported_format")
        /// An offset past the end of the log, or a partition that does not exist.
        public static let notFound = Code("not_found")
    }

    public var code: Code
    public var message: String
    /// The file the error concerns, if any.
    public var path: String?
    /// The byte position in `path` the error concerns, if any.
    public var position: Int64?
    /// A lower-level cause, such as the ``Errno`` of a failed system call.
    public var underlying: (any Error)?
    /// Where in Tally's sources the error was raised.
    public var source: String

    public init(
        _ code: Code, _ message: String, path: String? = nil, position: Int64? = nil,
        underlying: (any Error)? = nil, file: String = #fileID, line: Int = #line
    ) {
        self.code = code
        self.message = message
        self.path = path
        self.position = position
        self.underlying = underlying
        self.source = "\(file):\(line)"
    }

    public var description: String {
        var text = "\(code): \(message)"
        if let path {
            text += " (\(path)"
            if let position { text += " at byte \(position)" }
            text += ")"
        }
        if let underlying { text += ": \(underlying)" }
        return text
    }
}

/// The `errno` of a failed system call, as an error's cause.
public struct Errno: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: Int32

    public init(_ code: Int32) { self.code = code }

    public var description: String { String(cString: strerror(code)) }
}
