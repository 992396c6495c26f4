import ChatterCore
import ChatterHTTP
import Hummingbird

/// What other role processes ask auth (`/internal/v1/...`, behind the internal token).
public struct AuthInternalRoutes: Sendable {
    let users: any UserLookup

    public init(users: any UserLookup) {
        self.users = users
    }

    struct UserIDs: Codable, Sendable {
        var ids: [String]
    }

    public func addRoutes(to router: some RouterMethods<ChatterRequestContext>) {
        router.post("/users/existing") { request, context in
            let body = try await request.decode(as: UserIDs.self, context: context)
            guard body.ids.count <= 1000 else { throw ChatterError.validation("at most 1000 ids") }
            return JSONBody(UserIDs(ids: try await users.existingUserIDs(body.ids).sorted()))
        }
    }
}

/// `UserLookup` for a chat role in another process than auth.
public struct RemoteUserLookup: UserLookup {
    let client: InternalAPIClient

    public init(client: InternalAPIClient) {
        self.client = client
    }

    public func existingUserIDs(_ ids: [String]) async throws -> Set<String> {
        guard !ids.isEmpty else { return [] }
        let answer = try await client.call(
            .post, "\(InternalAPI.pathPrefix)/users/existing", body: AuthInternalRoutes.UserIDs(ids: ids), as: AuthInternalRoutes.UserIDs.self)
        return Set(answer.ids)
    }
}

extension InternalAPIClient {
    /// Auth's published keys: its public `/.well-known/jwks.json`.
    public func jwks() async throws -> JWKS {
        try await call(.get, "/.well-known/jwks.json", as: JWKS.self)
    }
}
