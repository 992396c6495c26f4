import ChatterCore

/// Which public path goes to which role. The patterns below are the only source: the gateway
/// registers exactly these with its router (so metrics and logs name the template, never a raw
/// path), and `destination(of:)` answers the same question for any path without a router.
///
/// Pattern syntax is Hummingbird's: a constant, `{name}` for one component, `**` for one or
/// more trailing components.
public enum ProxyRouteTable {
    public struct Route: Sendable, Hashable {
        public let pattern: String
        public let role: Role
    }

    /// Where a request goes.
    public enum Destination: Sendable, Hashable {
        /// Forwarded to an instance of the role.
        case upstream(Role)
        /// Served by the gateway itself (operations, admin, web client) or unknown: a 404 there.
        case gateway
        /// Never reachable from outside: the roles' internal API. Always a 404.
        case refused
    }

    public static let routes: [Route] = [
        Route(pattern: "/v1/auth/**", role: .auth),
        Route(pattern: "/v1/users", role: .auth),
        Route(pattern: "/v1/users/**", role: .auth),
        Route(pattern: "/.well-known/jwks.json", role: .auth),
        Route(pattern: "/v1/chats", role: .chat),
        Route(pattern: "/v1/chats/{chat_id}", role: .chat),
        Route(pattern: "/v1/chats/{chat_id}/members", role: .chat),
        Route(pattern: "/v1/chats/{chat_id}/members/**", role: .chat),
        Route(pattern: "/v1/chats/{chat_id}/messages", role: .messaging),
        Route(pattern: "/v1/chats/{chat_id}/messages/**", role: .messaging),
        Route(pattern: "/v1/chats/{chat_id}/read", role: .messaging),
        Route(pattern: "/v1/ws", role: .notification),
    ]

    /// The prefix of the roles' internal API, which the gateway never forwards.
    static let internalPrefix = "internal"

    /// Where `path` (without its query) goes.
    public static func destination(of path: String) -> Destination {
        let components = path.split(separator: "/", omittingEmptySubsequences: true)
        if components.first == Substring(internalPrefix) { return .refused }
        for route in routes where matches(route.pattern, components) {
            return .upstream(route.role)
        }
        return .gateway
    }

    /// The routes of `role`.
    static func patterns(of role: Role) -> [String] {
        routes.filter { $0.role == role }.map(\.pattern)
    }

    static func matches(_ pattern: String, _ components: [Substring]) -> Bool {
        let parts = pattern.split(separator: "/", omittingEmptySubsequences: true)
        var index = 0
        for part in parts {
            if part == "**" { return index < components.count }
            guard index < components.count else { return false }
            if !(part.hasPrefix("{") && part.hasSuffix("}")) && part != components[index] { return false }
            index += 1
        }
        return index == components.count
    }
}
