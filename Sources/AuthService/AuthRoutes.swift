import ChatterCore
import ChatterHTTP
import HTTPTypes
import Hummingbird

/// The auth role's HTTP surface.
public struct AuthRoutes: Sendable {
    let service: AuthService

    public init(service: AuthService) {
        self.service = service
    }

    struct RegisterRequest: Decodable {
        var username: String
        var password: String
        var displayName: String?
        enum CodingKeys: String, CodingKey {
            case username, password
            case displayName = "display_name"
        }
    }

    struct LoginRequest: Decodable {
        var username: String
        var password: String
    }

    struct RefreshRequest: Decodable {
        var refreshToken: String
        enum CodingKeys: String, CodingKey { case refreshToken = "refresh_token" }
    }

    struct LogoutRequest: Decodable {
        var refreshToken: String?
        enum CodingKeys: String, CodingKey { case refreshToken = "refresh_token" }
    }

    struct UserList: Encodable, Sendable {
        var users: [User]
    }

    /// Routes that need no token.
    public func addPublicRoutes(to router: some RouterMethods<ChatterRequestContext>) {
        router.post("/v1/auth/register") { request, context in
            let body = try await request.decode(as: RegisterRequest.self, context: context)
            let session = try await service.register(username: body.username, password: body.password, displayName: body.displayName)
            return JSONBody(session, status: .created)
        }
        router.post("/v1/auth/login") { request, context in
            let body = try await request.decode(as: LoginRequest.self, context: context)
            return JSONBody(try await service.login(username: body.username, password: body.password))
        }
        router.post("/v1/auth/refresh") { request, context in
            let body = try await request.decode(as: RefreshRequest.self, context: context)
            return JSONBody(try await service.refresh(refreshToken: body.refreshToken))
        }
        router.get("/.well-known/jwks.json") { _, _ in
            JSONBody(service.tokens.jwks)
        }
    }

    /// Routes behind the authentication middleware.
    public func addAuthenticatedRoutes(to router: some RouterMethods<ChatterRequestContext>) {
        router.post("/v1/auth/logout") { request, context in
            let identity = try context.requireIdentity()
            // The body is optional: none means "this session".
            let body = try await context.requestDecoder.decodeIfPresent(LogoutRequest.self, from: request, context: context)
            let refreshToken = body?.refreshToken
            try await service.logout(identity: identity, refreshToken: refreshToken)
            return HTTPResponse.Status.noContent
        }
        router.get("/v1/users/me") { _, context in
            JSONBody(try await service.user(id: try context.requireIdentity().userID))
        }
        router.get("/v1/users") { request, context in
            _ = try context.requireIdentity()
            let parameters = request.queryValues
            let limit = try Validation.limit(parameters["limit"], default: 20, range: 1...100)
            let users = try await service.search(prefix: parameters["prefix"] ?? "", limit: limit)
            return JSONBody(UserList(users: users))
        }
    }
}
