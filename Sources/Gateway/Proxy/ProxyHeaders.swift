import HTTPTypes

/// Which headers cross the gateway. Hop-by-hop headers describe one connection and stop at
/// the gateway: `Connection` and every header it names, `Keep-Alive`, `Proxy-*`, `TE`,
/// `Trailer`, `Transfer-Encoding`, `Upgrade`. The rest is passed on.
enum ProxyHeaders {
    static let hopByHop: Set<String> = ["connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade"]

    static func isHopByHop(_ name: HTTPField.Name) -> Bool {
        let name = name.canonicalName
        return hopByHop.contains(name) || name.hasPrefix("proxy-")
    }

    /// `fields` without hop-by-hop headers.
    static func endToEnd(_ fields: HTTPFields) -> HTTPFields {
        let named = Set(fields[values: .connection].flatMap { $0.split(separator: ",") }
            .map { $0.trimmingWhitespace().lowercased() })
        return HTTPFields(fields.filter { !isHopByHop($0.name) && !named.contains($0.name.canonicalName) })
    }

    /// Who the request is from, as the gateway established it.
    struct Origin: Sendable {
        /// The client's address (`ClientAddressResolver`: the peer, or what a trusted proxy reports).
        var clientAddress: String
        /// `http`, or what a trusted proxy in front reported in `X-Forwarded-Proto`.
        var scheme: String
        /// The id the gateway gave the request (`X-Request-Id`).
        var requestID: String
        /// The current trace context, when a tracer writes one.
        var traceparent: String?
    }

    /// The headers sent upstream: the client's end-to-end headers, minus what the gateway
    /// vouches for itself (`X-Forwarded-*`, `X-Real-IP`, `X-Request-Id`), which it sets from
    /// `origin` so a client cannot choose them. `Content-Length` and `Expect` go too: the body is
    /// sent whole, and its length is the client library's business.
    static func upstreamRequest(_ fields: HTTPFields, origin: Origin) -> HTTPFields {
        var headers = endToEnd(fields)
        for name in [HTTPField.Name.xForwardedFor, .xRealIP, .xForwardedProto, .xForwardedHost, .requestID, .contentLength, .expect] {
            headers[name] = nil
        }
        headers[.xForwardedFor] = origin.clientAddress
        headers[.xRealIP] = origin.clientAddress
        headers[.xForwardedProto] = origin.scheme
        headers[.requestID] = origin.requestID
        if let traceparent = origin.traceparent {
            headers[.traceparent] = traceparent
        }
        return headers
    }

    /// The headers of the upgrade request to a notification instance: the client's
    /// `Authorization`, if it sent one, and who the socket is from. The WebSocket client writes
    /// the upgrade's own headers.
    static func upstreamWebSocket(_ fields: HTTPFields, origin: Origin) -> HTTPFields {
        var headers = HTTPFields()
        if let authorization = fields[.authorization] { headers[.authorization] = authorization }
        headers[.xForwardedFor] = origin.clientAddress
        headers[.xRealIP] = origin.clientAddress
        headers[.xForwardedProto] = origin.scheme
        headers[.requestID] = origin.requestID
        if let traceparent = origin.traceparent { headers[.traceparent] = traceparent }
        return headers
    }

    /// The headers sent back to the client: the instance's end-to-end headers. The gateway's
    /// own `Date`, `Server` and `X-Request-Id` replace the instance's on the way out, and
    /// `Content-Length` is recomputed from the body (kept for HEAD, whose body is empty).
    static func clientResponse(_ fields: HTTPFields, isHead: Bool) -> HTTPFields {
        var headers = endToEnd(fields)
        if !isHead { headers[.contentLength] = nil }
        return headers
    }
}

extension HTTPField.Name {
    static let xForwardedProto = HTTPField.Name("X-Forwarded-Proto")!
    static let xForwardedHost = HTTPField.Name("X-Forwarded-Host")!
    static let traceparent = HTTPField.Name("traceparent")!
}

extension Substring {
    fileprivate func trimmingWhitespace() -> Substring {
        var result = self
        while result.first == " " || result.first == "\t" { result.removeFirst() }
        while result.last == " " || result.last == "\t" { result.removeLast() }
        return result
    }
}
