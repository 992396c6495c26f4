import ChatterCore
import HTTPTypes
import Hummingbird
import NIOCore

/// The contract's error body: `{"error": {"code", "message"}}`.
public struct ErrorBody: Codable, Sendable {
    public struct Detail: Codable, Sendable {
        public var code: String
        public var message: String

        public init(code: String, message: String) {
            self.code = code
            self.message = message
        }
    }

    public var error: Detail

    public init(code: String, message: String) {
        error = Detail(code: code, message: message)
    }
}

extension ChatterError {
    /// Maps anything a handler or the framework threw to what the client may see. Unknown
    /// errors become a generic 500 whose detail stays in the log.
    public static func fromAny(_ error: any Error) -> ChatterError {
        switch error {
        case let error as ChatterError:
            return error
        case let error as HTTPError:
            switch error.status.code {
            case 404: return ChatterError(.notFound, "no such endpoint")
            case 405: return ChatterError(.methodNotAllowed, "method not allowed")
            case 413: return ChatterError(.payloadTooLarge, "request body is too large")
            case 400..<500:
                return ChatterError(.init("http_\(error.status.code)", status: error.status.code), error.status.reasonPhrase)
            default:
                return ChatterError(.internalError, "internal error", detail: "\(error)")
            }
        case is NIOTooManyBytesError:
            return ChatterError(.payloadTooLarge, "request body is too large")
        case is CancellationError:
            return ChatterError(.unavailable, "request was cancelled, try again")
        default:
            return ChatterError(.internalError, "internal error", detail: String(reflecting: error))
        }
    }

    public func response() -> Response {
        let status = HTTPResponse.Status(code: code.status)
        var response = (try? Response.json(ErrorBody(code: code.rawValue, message: message), status: status))
            ?? Response(status: status)
        if code == .rateLimited {
            response.headers[.retryAfter] = "1"
        }
        return response
    }
}

extension ChatterError: HTTPResponseError {
    public var status: HTTPResponse.Status { HTTPResponse.Status(code: code.status) }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        response()
    }
}
