import ChatterCore
import ChatterHTTP
import HTTPTypes
import Hummingbird
import Logging

/// Requires `Authorization: Bearer <access token>` and puts the caller's identity in the
/// context; everything behind it may rely on `context.requireIdentity()`.
struct AuthenticationMiddleware: RouterMiddleware {
    typealias Context = ChatterRequestContext

    let authenticator: any BearerAuthenticator

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization] else {
            throw ChatterError(.unauthorized, "missing bearer token")
        }
        let identity = try await authenticator.authenticate(authorizationHeader: header)
        var context = context
        context.identity = identity
        context.logger[metadataKey: LoggingKeys.userID] = .string(identity.userID)
        return try await next(request, context)
    }
}
