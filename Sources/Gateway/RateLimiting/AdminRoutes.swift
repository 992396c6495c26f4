import ChatterCore
import ChatterHTTP
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// `/admin/v1/...`: operator calls, opened by `CHATTER_ADMIN_TOKEN` (a bearer token compared
/// in constant time), closed (403) when no token is configured.
struct AdminRoutes: Sendable {
    let adminToken: String?
    let policies: RateLimitPolicyStore

    func addRoutes(to router: Router<ChatterRequestContext>) {
        let admin = router.group("/admin/v1").add(middleware: AdminAuthMiddleware(token: adminToken))
        admin.get("/rate-limits") { _, _ in
            Self.policyResponse(policies.current)
        }
        admin.put("/rate-limits") { request, context in
            let policy = try await request.decode(as: RateLimitPolicy.self, context: context)
            try await policies.replace(with: policy)
            context.logger.notice("rate-limit rules changed through the admin API", metadata: ["rules": "\(policy.rules.count)"])
            return Self.policyResponse(policies.current)
        }
    }

    static func policyResponse(_ policy: RateLimitPolicy) -> Response {
        let data = policy.encoded()
        return Response(status: .ok, headers: [.contentType: Response.jsonContentType, .contentLength: String(data.count)],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

struct AdminAuthMiddleware: RouterMiddleware {
    typealias Context = ChatterRequestContext
    let token: String?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let token else {
            throw ChatterError(.forbidden, "the admin API is not enabled on this server")
        }
        guard let header = request.headers[.authorization] else {
            throw ChatterError(.unauthorized, "missing admin bearer token")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        // Compare digests so the time taken says nothing about how much of the token matched.
        guard parts.count == 2, parts[0].lowercased() == "bearer",
              SHA256.hash(data: Data(parts[1].utf8)) == SHA256.hash(data: Data(token.utf8))
        else {
            throw ChatterError(.unauthorized, "invalid admin token")
        }
        return try await next(request, context)
    }
}
