public import Foundation
public import Logging

/// A log handler that writes one JSON object per line, for log shippers (`--log-format json`):
///
/// ```json
/// {"time":"2026-11-30T20:12:07.123Z","level":"info","label":"tally","message":"request",
///  "metadata":{"hb.request.id":"…","http.status":"200"},"source":"Shard"}
/// ```
///
/// Keys come in that order; metadata values are strings, or arrays and objects of them. Each line
/// is handed to `write` whole, so lines from concurrent tasks never interleave.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    let label: String
    let write: @Sendable ([UInt8]) -> Void
    let now: @Sendable () -> Date

    /// A handler writing to `write` (each call: one line, newline included); `now` stamps the lines.
    public init(
        label: String, now: @escaping @Sendable () -> Date = { Date() },
        write: @escaping @Sendable ([UInt8]) -> Void
    ) {
        self.label = label
        self.now = now
        self.write = write
    }

    /// A handler writing to standard error.
    public static func standardError(label: String) -> JSONLogHandler {
        JSONLogHandler(label: label) { line in
            line.withUnsafeBytes { raw in
                var done = 0
                while done < raw.count {
                    let n = Foundation.write(2, raw.baseAddress! + done, raw.count - done)
                    if n < 0 {
                        if errno == EINTR { continue }
                        return  // Nowhere left to report a failure to write a log line.
                    }
                    done += n
                }
            }
        }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var all = metadata
        if let provided = metadataProvider?.get() { all.merge(provided) { _, new in new } }
        if let explicit = event.metadata { all.merge(explicit) { _, new in new } }
        var line = "{\"time\":"
        Self.appendString(Self.timeFormat.format(now()), to: &line)
        line += ",\"level\":"
        Self.appendString(event.level.rawValue, to: &line)
        line += ",\"label\":"
        Self.appendString(label, to: &line)
        line += ",\"message\":"
        Self.appendString(event.message.description, to: &line)
        line += ",\"metadata\":"
        Self.append(.dictionary(all), to: &line)
        line += ",\"source\":"
        Self.appendString(event.source, to: &line)
        line += "}\n"
        write(Array(line.utf8))
    }

    private static let timeFormat = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    private static func append(_ value: Logger.MetadataValue, to line: inout String) {
        switch value {
        case .string(let string):
            appendString(string, to: &line)
        case .stringConvertible(let convertible):
            appendString(convertible.description, to: &line)
        case .array(let values):
            line += "["
            for (i, value) in values.enumerated() {
                if i > 0 { line += "," }
                append(value, to: &line)
            }
            line += "]"
        case .dictionary(let entries):
            line += "{"
            // Sorted, so equal metadata gives equal lines.
            for (i, key) in entries.keys.sorted().enumerated() {
                if i > 0 { line += "," }
                appendString(key, to: &line)
                line += ":"
                append(entries[key]!, to: &line)
            }
            line += "}"
        }
    }

    /// Appends `string` as a JSON string literal (RFC 8259: quote, backslash and control characters
    /// escaped).
    private static func appendString(_ string: String, to line: inout String) {
        line += "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": line += "\\\""
            case "\\": line += "\\\\"
            case "\n": line += "\\n"
            case "\r": line += "\\r"
            case "\t": line += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                line += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: line.unicodeScalars.append(scalar)
            }
        }
        line += "\""
    }
}
