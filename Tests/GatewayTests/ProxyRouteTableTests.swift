import Foundation
import ChatterCore
@testable import Gateway
import Testing

@Suite struct ProxyRouteTableTests {
    @Test(arguments: [
        ("/v1/auth/register", Role.auth), ("/v1/auth/login", .auth), ("/v1/auth/refresh", .auth), ("/v1/auth/logout", .auth),
        ("/v1/users", .auth), ("/v1/users/me", .auth), ("/.well-known/jwks.json", .auth),
        ("/v1/chats", .chat), ("/v1/chats/c1", .chat), ("/v1/chats/c1/members", .chat), ("/v1/chats/c1/members/u1", .chat),
        ("/v1/chats/c1/messages", .messaging), ("/v1/chats/c1/messages/m1", .messaging), ("/v1/chats/c1/read", .messaging),
        ("/v1/ws", .notification),
    ])
    func publicPathsGoToTheirRole(path: String, role: Role) {
        #expect(ProxyRouteTable.destination(of: path) == .upstream(role))
    }

    @Test(arguments: [
        "/", "/healthz", "/readyz", "/metrics", "/openapi.yaml", "/asyncapi.yaml", "/admin/v1/rate-limits", "/app/abc/main.js",
        "/v1/auth", "/v1/chats/c1/read/extra", "/v1/chats/c1/unknown", "/v1/ws/extra", "/v2/chats", "/.well-known/other",
    ])
    func gatewayAndUnknownPathsStay(path: String) {
        #expect(ProxyRouteTable.destination(of: path) == .gateway)
    }

    @Test(arguments: ["/internal", "/internal/v1/chats/c1/members/u1", "/internal/v1/users"])
    func internalPathsAreRefused(path: String) {
        #expect(ProxyRouteTable.destination(of: path) == .refused)
    }

    /// Every registered pattern, with its parameters filled in, is answered by the same role,
    /// so the router and `destination(of:)` cannot drift apart.
    @Test func everyPatternResolvesToItsOwnRole() {
        for route in ProxyRouteTable.routes {
            let sample = route.pattern.replacingOccurrences(of: "{chat_id}", with: "c9").replacingOccurrences(of: "**", with: "x/y")
            #expect(ProxyRouteTable.destination(of: sample) == .upstream(route.role), "\(route.pattern)")
        }
        #expect(Set(ProxyRouteTable.routes.map(\.role)) == Set(Role.upstreamRoles))
    }
}
