/// One instance of a role, reached over plain HTTP/1.1 on the cluster's private network.
public struct ServiceEndpoint: Sendable, Hashable, CustomStringConvertible {
    public let host: String
    public let port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// `http://host:port` (a trailing `/` is allowed; `https`, paths and credentials are not:
    /// role-to-role traffic stays on the private network, TLS ends at the ingress).
    public init(url: String) throws {
        let invalid = ServiceClientError(.invalidURL, "\(url) is not http://host:port", requestSent: false)
        var rest = Substring(url.trimmingCharacters(in: " "))
        guard rest.hasPrefix("http://") else { throw invalid }
        rest = rest.dropFirst("http://".count)
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard !rest.contains("/"), !rest.contains("@"), let colon = rest.lastIndex(of: ":") else { throw invalid }
        var host = rest[..<colon]
        if host.hasPrefix("["), host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        guard !host.isEmpty, let port = Int(rest[rest.index(after: colon)...]), (1...65535).contains(port) else { throw invalid }
        self.init(host: String(host), port: port)
    }

    /// Comma-separated `http://host:port` list, as the `CHATTER_UPSTREAM_*` variables hold it.
    public static func list(_ value: String) throws -> [ServiceEndpoint] {
        try value.split(separator: ",").map { String($0) }.filter { !$0.trimmingCharacters(in: " ").isEmpty }.map(ServiceEndpoint.init(url:))
    }

    /// The `Host` header and URL authority.
    public var authority: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    public var description: String { "http://\(authority)" }
}

extension String {
    fileprivate func trimmingCharacters(in set: Character) -> Substring {
        var slice = Substring(self)
        while slice.first == set { slice = slice.dropFirst() }
        while slice.last == set { slice = slice.dropLast() }
        return slice
    }
}
