import Foundation
import Logging
import Synchronization
import Testing
@testable import Telemetry

@Suite struct JSONLogHandlerTests {
    final class Lines: Sendable {
        let value = Mutex<[String]>([])
        var all: [String] { value.withLock { $0 } }
    }

    func logger(_ lines: Lines, provider: Logger.MetadataProvider? = nil) -> Logger {
        let output = LogOutput { line in lines.value.withLock { $0.append(line) } }
        var logger = Logger(label: "chatter.test") { label in
            JSONLogHandler(label: label, serviceName: "chatter-test", output: output, metadataProvider: provider)
        }
        logger.logLevel = .debug
        return logger
    }

    func object(_ line: String) throws -> [String: Any] {
        #expect(line.hasSuffix("\n") && line.dropLast().contains("\n") == false)
        return try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    @Test func linesCarryTheECSFieldsAndTheMetadata() throws {
        let lines = Lines()
        var logger = logger(lines, provider: Logger.MetadataProvider { ["trace.id": "4bf92f3577b34da6a3ce929d0e0e4736"] })
        logger[metadataKey: "http.request.id"] = "req-1"
        logger.warning("slow \"query\"\nsecond line", metadata: ["duration_ms": .stringConvertible(12.5), "tags": ["a", "b"]])
        let fields = try object(try #require(lines.all.first))
        #expect(fields["log.level"] as? String == "warning")
        #expect(fields["message"] as? String == "slow \"query\"\nsecond line")
        #expect(fields["service.name"] as? String == "chatter-test")
        #expect(fields["log.logger"] as? String == "chatter.test")
        #expect(fields["http.request.id"] as? String == "req-1")
        #expect(fields["trace.id"] as? String == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(fields["duration_ms"] as? String == "12.5")
        #expect(fields["tags"] as? [String] == ["a", "b"])
        let timestamp = try #require(fields["@timestamp"] as? String)
        #expect(timestamp.count == 24 && timestamp.hasSuffix("Z"))
        #expect(ISO8601DateFormatter.withMilliseconds.date(from: timestamp) != nil)
    }

    @Test func metadataCannotOverwriteReservedFieldsOrBreakTheLine() throws {
        let lines = Lines()
        let logger = logger(lines)
        logger.info("real", metadata: ["message": "forged", "log.level": "critical", "evil\"key": "\u{2028}\u{01}"])
        let fields = try object(try #require(lines.all.first))
        #expect(fields["message"] as? String == "real")
        #expect(fields["log.level"] as? String == "info")
        #expect(fields["evil\"key"] as? String == "\u{2028}\u{01}")
    }

    @Test func levelsBelowTheLoggersAreDropped() {
        let lines = Lines()
        var logger = logger(lines)
        logger.logLevel = .notice
        logger.info("hidden")
        logger.notice("shown")
        #expect(lines.all.count == 1)
    }
}

extension ISO8601DateFormatter {
    static var withMilliseconds: ISO8601DateFormatter {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }
}

