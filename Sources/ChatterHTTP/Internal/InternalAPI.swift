import ChatterCore
import Crypto
import Foundation
import HTTPTypes
import Hummingbird

/// The internal API's shared rules: where it lives and how a caller proves it is a role
/// process of this deployment.
public enum InternalAPI {
    public static let pathPrefix = "/internal/v1"
    /// Carries `CHATTER_INTERNAL_TOKEN`. A header of its own, not `Authorization`, so it is never
    /// confused with (or logged as) a user's bearer token.
    public static let tokenHeader = HTTPField.Name("X-Chatter-Internal-Token")!
}

/// Admits only callers that present the deployment's internal token; everyone else gets 403.
public struct InternalTokenMiddleware: RouterMiddleware {
    public typealias Context = ChatterRequestContext
    let expected: SHA256.Digest

    public init(token: String) {
        expected = SHA256.hash(data: Data(token.utf8))
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // Compared as digests: equal length, and a digest comparison that does not stop early.
        guard let presented = request.headers[InternalAPI.tokenHeader],
              SHA256.hash(data: Data(presented.utf8)) == expected
        else {
            throw ChatterError.forbidden("internal API")
        }
        return try await next(request, context)
    }
}
