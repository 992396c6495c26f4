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
    /// Paths that pass without a token (the gateway's proxy sits behind this middleware as a
    /// whole, and a few of the paths it forwards are public).
    var exempt: Set<String> = []

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if !exempt.isEmpty, exempt.contains(request.uri.path) { return try await next(request, context) }
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

extension AuthenticationMiddleware {
    /// What the gateway forwards without checking a token itself: signing up and in, the keys,
    /// and the WebSocket upgrade (the real-time role checks its token, header or first frame,
    /// and answers with a close code).
    static let publicProxiedPaths: Set<String> = [
        "/v1/auth/register", "/v1/auth/login", "/v1/auth/refresh", "/.well-known/jwks.json", "/v1/ws",
    ]
}
