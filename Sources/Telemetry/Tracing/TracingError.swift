/// An error from the tracing setup or the exporter. Match on ``code``; ``message`` and
/// `debugDescription` carry the details, `description` stays generic.
public struct TracingError: Error, Sendable {
    /// What went wrong. A struct with static members rather than an enum, so codes can be added.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case invalidConfiguration, exportFailed, timeout, connectionClosed
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// An `OTEL_*` variable (named in ``TracingError/variable``) holds a value that cannot be used.
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// The collector answered with a status that is not 2xx (``TracingError/httpStatus``).
        public static let exportFailed = Code(.exportFailed)
        /// Connecting, sending or waiting for the answer took longer than the export timeout.
        public static let timeout = Code(.timeout)
        /// The connection closed before a complete answer came.
        public static let connectionClosed = Code(.connectionClosed)

        public var description: String { base.rawValue }
    }

    public let code: Code
    public let message: String
    /// The environment variable at fault, for ``Code/invalidConfiguration``.
    public let variable: String?
    /// The HTTP status the collector answered with, for ``Code/exportFailed``.
    public let httpStatus: Int?
    public let file: String
    public let line: Int

    init(
        _ code: Code, _ message: String, variable: String? = nil, httpStatus: Int? = nil,
        file: String = #fileID, line: Int = #line
    ) {
        self.code = code
        self.message = message
        self.variable = variable
        self.httpStatus = httpStatus
        self.file = file
        self.line = line
    }

    static func invalid(_ variable: String, _ value: String, expected: String, file: String = #fileID, line: Int = #line) -> TracingError {
        TracingError(.invalidConfiguration, "\(variable)=\(value) is invalid: expected \(expected)", variable: variable, file: file, line: line)
    }
}

extension TracingError: CustomStringConvertible, CustomDebugStringConvertible {
    public var description: String {
        if code == .invalidConfiguration { return "TracingError(\(code)): \(message)" }
        return "TracingError(\(code))"
    }

    public var debugDescription: String { "TracingError(\(code)): \(message) [\(file):\(line)]" }
}
