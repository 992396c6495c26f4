/// The one error type the services throw for anything a client may be told about.
///
/// `message` is what the client sees and must never contain internals; `detail` is for logs
/// only. Errors that are not `ChatterError` are reported to clients as a generic 500.
public struct ChatterError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// Machine-readable code, sent as `error.code`. A struct so codes can be added without
    /// breaking exhaustive switches elsewhere.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        public let rawValue: String
        /// The HTTP status that goes with this code.
        public let status: Int

        public init(_ rawValue: String, status: Int) {
            self.rawValue = rawValue
            self.status = status
        }

        public var description: String { rawValue }

        public static let malformedJSON = Code("malformed_json", status: 400)
        public static let invalidRequest = Code("invalid_request", status: 400)
        public static let unauthorized = Code("unauthorized", status: 401)
        public static let invalidCredentials = Code("invalid_credentials", status: 401)
        public static let invalidRefreshToken = Code("invalid_refresh_token", status: 401)
        public static let refreshTokenReused = Code("refresh_token_reused", status: 401)
        public static let forbidden = Code("forbidden", status: 403)
        public static let notFound = Code("not_found", status: 404)
        public static let methodNotAllowed = Code("method_not_allowed", status: 405)
        public static let usernameTaken = Code("username_taken", status: 409)
        public static let conflict = Code("conflict", status: 409)
        public static let payloadTooLarge = Code("payload_too_large", status: 413)
        public static let unsupportedMediaType = Code("unsupported_media_type", status: 415)
        public static let validationFailed = Code("validation_failed", status: 422)
        public static let rateLimited = Code("rate_limited", status: 429)
        public static let internalError = Code("internal_error", status: 500)
        public static let unavailable = Code("service_unavailable", status: 503)
    }

    public var code: Code
    public var message: String
    /// Operator-facing detail; logged, never sent.
    public var detail: String?
    public var file: String
    public var line: Int

    public init(_ code: Code, _ message: String, detail: String? = nil, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.detail = detail
        self.file = file
        self.line = line
    }

    public var description: String { "\(code.rawValue): \(message)" }

    public var debugDescription: String {
        "ChatterError(\(code.rawValue), \(message)\(detail.map { ", detail: \($0)" } ?? ""), at \(file):\(line))"
    }

    public static func notFound(_ what: String, file: String = #fileID, line: Int = #line) -> ChatterError {
        ChatterError(.notFound, "\(what) not found", file: file, line: line)
    }

    public static func validation(_ message: String, file: String = #fileID, line: Int = #line) -> ChatterError {
        ChatterError(.validationFailed, message, file: file, line: line)
    }

    public static func invalidRequest(_ message: String, file: String = #fileID, line: Int = #line) -> ChatterError {
        ChatterError(.invalidRequest, message, file: file, line: line)
    }

    public static func forbidden(_ message: String, file: String = #fileID, line: Int = #line) -> ChatterError {
        ChatterError(.forbidden, message, file: file, line: line)
    }

    public static func unavailable(_ dependency: String, detail: String? = nil, file: String = #fileID, line: Int = #line) -> ChatterError {
        ChatterError(.unavailable, "\(dependency) is unavailable, try again later", detail: detail, file: file, line: line)
    }
}
