import Foundation
import Logging
import Roles
import Synchronization
import Testing

/// `--log-format json`: one JSON object per line with time, level, label, message, metadata, source.
@Suite struct JSONLogHandlerTests {
    /// A logger whose lines land in the returned sink.
    static func logger(level: Logger.Level = .info) -> (Logger, LineSink) {
        let lines = LineSink()
        let epoch = Date(timeIntervalSince1970: 1_796_083_200.25)
        var logger = Logger(label: "tally.test") { label in
            var handler = JSONLogHandler(label: label, now: { epoch }, write: lines.write)
            handler.metadata = ["node": "s1"]
            return handler
        }
        logger.logLevel = level
        return (logger, lines)
    }

    @Test func writesOneObjectPerLineWithEveryField() throws {
        let (logger, lines) = Self.logger()
        logger.warning(
            "delivery will be retried",
            metadata: ["guild": "42", "wait": .stringConvertible(1.5), "tries": ["a", "b"], "nested": ["k": "v"]],
            source: "Shard")
        let written = lines.lines
        #expect(written.count == 1)
        let line = try #require(written.first)
        #expect(line.hasSuffix("}\n") && line.filter { $0 == "\n" }.count == 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["time"] as? String == "2026-12-01T00:00:00.250Z")
        #expect(object["level"] as? String == "warning")
        #expect(object["label"] as? String == "tally.test")
        #expect(object["message"] as? String == "delivery will be retried")
        #expect(object["source"] as? String == "Shard")
        let metadata = try #require(object["metadata"] as? [String: Any])
        #expect(metadata["node"] as? String == "s1", "the handler's own metadata")
        #expect(metadata["guild"] as? String == "42")
        #expect(metadata["wait"] as? String == "1.5")
        #expect(metadata["tries"] as? [String] == ["a", "b"])
        #expect((metadata["nested"] as? [String: String]) == ["k": "v"])
        #expect(Array(object.keys).sorted() == ["label", "level", "message", "metadata", "source", "time"])
    }

    @Test(arguments: ["quote \" backslash \\", "new\nline\ttab\r", "bell \u{07} nul \u{00}", "ünïcödé ✓"])
    func escapesAnyMessageIntoValidJSON(message: String) throws {
        let (logger, lines) = Self.logger()
        logger.info("\(message)", metadata: [message: "\(message)"])
        let line = try #require(lines.lines.first)
        #expect(line.dropLast().contains("\n") == false, "one line")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["message"] as? String == message)
        #expect((object["metadata"] as? [String: String])?[message] == message)
    }

    @Test func dropsMessagesBelowTheLevel() {
        let (logger, lines) = Self.logger(level: .notice)
        logger.info("quiet")
        logger.notice("loud")
        #expect(lines.lines.count == 1)
    }
}

/// Collects the lines a ``JSONLogHandler`` writes.
final class LineSink: Sendable {
    private let box = Mutex<[String]>([])
    var lines: [String] { box.withLock { $0 } }
    @Sendable func write(_ bytes: [UInt8]) { box.withLock { $0.append(String(decoding: bytes, as: UTF8.self)) } }
}
