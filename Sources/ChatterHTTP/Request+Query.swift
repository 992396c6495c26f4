import ChatterCore
import Hummingbird

extension Request {
    /// The query parameters, parsed once; a route that reads several takes this once.
    public var queryValues: QueryValues { QueryValues(uri.queryParameters) }
}

/// A request's query parameters, parsed once: Hummingbird parses the whole query string each
/// time `uri.queryParameters` is read, so a route reading three parameters parsed it three
/// times (1% of the server's CPU on a one-message history read).
public struct QueryValues {
    private let parameters: Parameters

    init(_ parameters: Parameters) {
        self.parameters = parameters
    }

    /// A query parameter, or `nil` when absent or empty.
    public subscript(_ name: String) -> String? {
        guard let value = parameters.get(name), !value.isEmpty else { return nil }
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
