#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Logging
import Synchronization

/// One JSON object per line in the Elastic Common Schema's shape (`@timestamp`, `log.level`,
/// `message`, `service.name`, `log.logger`, then the metadata under its own keys, which
/// `LoggingKeys` names after ECS fields such as `http.request.id`, `trace.id` and `span.id`),
/// so Filebeat ships the lines to Elasticsearch without parsing rules.
///
/// Each line goes out in one `write(2)` under a lock: lines from many threads never interleave.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    let label: String
    let serviceName: String
    let output: LogOutput

    public init(label: String, serviceName: String, output: LogOutput = .standardError, metadataProvider: Logger.MetadataProvider? = nil) {
        self.label = label
        self.serviceName = serviceName
        self.output = output
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields = metadata
        if let provided = metadataProvider?.get() { fields.merge(provided) { _, new in new } }
        if let explicit = event.metadata { fields.merge(explicit) { _, new in new } }
        output.write(Self.line(
            timestamp: Date(), level: event.level, message: "\(event.message)", service: serviceName, logger: label, fields: fields))
    }

    /// The reserved keys come first and cannot be overwritten by metadata.
    static func line(
        timestamp: Date, level: Logger.Level, message: String, service: String, logger: String, fields: Logger.Metadata
    ) -> String {
        var json = "{"
        json += "\"@timestamp\":" + quoted(timestampFormat(timestamp))
        json += ",\"log.level\":" + quoted(level.rawValue)
        json += ",\"message\":" + quoted(message)
        json += ",\"service.name\":" + quoted(service)
        json += ",\"log.logger\":" + quoted(logger)
        for (key, value) in fields.sorted(by: { $0.key < $1.key }) where !reserved.contains(key) {
            json += "," + quoted(key) + ":" + encode(value)
        }
        return json + "}\n"
    }

    static let reserved: Set<String> = ["@timestamp", "log.level", "message", "service.name", "log.logger"]

    static func encode(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let string): quoted(string)
        case .stringConvertible(let convertible): quoted(convertible.description)
        case .array(let values): "[" + values.map(encode).joined(separator: ",") + "]"
        case .dictionary(let dictionary):
            "{" + dictionary.sorted(by: { $0.key < $1.key }).map { quoted($0.key) + ":" + encode($0.value) }.joined(separator: ",") + "}"
        }
    }

    /// A JSON string literal: quotes, backslashes and control characters escaped (so a value
    /// cannot end the line or forge a field).
    static func quoted(_ string: String) -> String {
        var out = "\""
        out.reserveCapacity(string.utf8.count + 2)
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x2028 || scalar.value == 0x2029:
                out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// RFC 3339 in UTC with milliseconds, as Elasticsearch's `date` type reads it.
    static func timestampFormat(_ date: Date) -> String {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var seconds = time_t(milliseconds / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
            Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), Int(milliseconds % 1000))
    }
}

/// Where log lines go: a file descriptor (standard error by default) or, in tests, a buffer.
public struct LogOutput: Sendable {
    let write: @Sendable (String) -> Void

    public init(write: @escaping @Sendable (String) -> Void) {
        self.write = write
    }

    func write(_ line: String) { write(line) }

    public static let standardError = LogOutput.descriptor(2)

    public static func descriptor(_ fd: Int32) -> LogOutput {
        let lock = Mutex(())
        return LogOutput { line in
            var bytes = Array(line.utf8)
            #if canImport(Glibc)
            let systemWrite = Glibc.write
            #else
            let systemWrite = Darwin.write
            #endif
            lock.withLock { _ in
                var offset = 0
                while offset < bytes.count {
                    let written = bytes.withUnsafeMutableBytes { systemWrite(fd, $0.baseAddress! + offset, $0.count - offset) }
                    if written > 0 { offset += written } else if errno != EINTR { return }
                }
            }
        }
    }
}
