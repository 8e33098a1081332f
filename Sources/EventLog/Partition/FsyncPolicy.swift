/// When the writer forces appended batches to stable storage.
public struct FsyncPolicy: Hashable, Sendable, CustomStringConvertible {
    package enum Kind: Hashable, Sendable {
        case always
        case interval(milliseconds: Int)
    }

    package let kind: Kind

    /// Every batch is fsynced before any of its appends is acknowledged: an acknowledged event
    /// survives a crash of the process or the machine. The default.
    public static let always = FsyncPolicy(kind: .always)

    /// Batches are written at once but fsynced at most every `interval`; appends are acknowledged
    /// after the write. **Weaker**: an acknowledged event survives a crash of the process, but a
    /// machine crash or power loss can lose up to `interval` of acknowledged events.
    public static func interval(_ interval: Duration) -> FsyncPolicy {
        let ms = interval.components.seconds * 1000 + interval.components.attoseconds / 1_000_000_000_000_000
        return FsyncPolicy(kind: .interval(milliseconds: max(1, Int(ms))))
    }

    public var description: String {
        switch kind {
        case .always: "always"
        case .interval(let ms): "interval(\(ms)ms)"
        }
    }

    /// Parses `always` or `interval:MS` (as given on the command line).
    public init?(parsing text: String) {
        if text == "always" {
            self = .always
        } else if text.hasPrefix("interval:"), let ms = Int(text.dropFirst("interval:".count)), ms > 0 {
            self = .interval(.milliseconds(ms))
        } else {
            return nil
        }
    }

    private init(kind: Kind) { self.kind = kind }
}
