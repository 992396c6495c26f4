import ChatterCore
import ChatterHTTP
import HTTPTypes
import Hummingbird
import Logging

/// The outermost middleware: gives every request an id (the client's `X-Request-Id` when it is
/// sane, else a new one), turns every error into the contract's JSON error, stamps the id on
/// every response, and writes one access-log line.
struct RequestIDMiddleware: RouterMiddleware {
    typealias Context = ChatterRequestContext

    let maxBodyBytes: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let requestID = Self.acceptableID(request.headers[.requestID]) ?? Identifier.make()
        context.requestID = requestID
        context.maxUploadSize = maxBodyBytes
        context.logger[metadataKey: LoggingKeys.requestID] = .string(requestID)
        let started = ContinuousClock.now
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            let apiError = ChatterError.fromAny(error)
            var metadata: Logger.Metadata = [LoggingKeys.errorCode: .string(apiError.code.rawValue)]
            if let detail = apiError.detail { metadata[LoggingKeys.errorDetail] = .string(detail) }
            if apiError.code.status >= 500 {
                context.logger.error("request failed", metadata: metadata)
            } else {
                context.logger.debug("request rejected", metadata: metadata)
            }
            response = apiError.response()
        }
        response.headers[.requestID] = requestID
        let elapsed = ContinuousClock.now - started
        context.logger.info("request", metadata: [
            LoggingKeys.httpMethod: .string(request.method.rawValue),
            LoggingKeys.httpPath: .string(context.endpointPath ?? "unmatched"),
            LoggingKeys.httpStatus: .stringConvertible(response.status.code),
            LoggingKeys.durationMs: .stringConvertible(
                Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15),
        ])
        return response
    }

    /// Echo what the client sent only when it is short and printable, so it cannot forge log
    /// lines or bloat headers.
    static func acceptableID(_ value: String?) -> String? {
        guard let value, !value.isEmpty, value.utf8.count <= 128,
              value.utf8.allSatisfy({ $0 >= 0x21 && $0 <= 0x7E })
        else { return nil }
        return value
    }
}

extension HTTPField.Name {
    static let requestID = HTTPField.Name("X-Request-Id")!
}
