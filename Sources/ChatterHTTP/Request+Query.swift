import ChatterCore
import Hummingbird

extension Request {
    /// A query parameter, or `nil` when absent or empty.
    public func query(_ name: String) -> String? {
        guard let value = uri.queryParameters.get(name), !value.isEmpty else { return nil }
        return value
    }
}

extension ChatterRequestContext {
    /// A path parameter the route declares; absent means the route and handler disagree.
    public func pathParameter(_ name: String) throws -> String {
        guard let value = parameters.get(name) else {
            throw ChatterError(.internalError, "internal error", detail: "route has no parameter \(name)")
        }
        return value
    }
}
