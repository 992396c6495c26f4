import HTTPTypes
import NIOCore

/// An instance of a role: where its HTTP server listens.
/// (Stand-in until `ServiceClient.ServiceEndpoint` lands.)
public struct UpstreamEndpoint: Sendable, Hashable, CustomStringConvertible {
    public let host: String
    public let port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// `http://host:port`.
    public init(url: String) throws {
        guard url.hasPrefix("http://") else { throw InvalidEndpoint(url: url) }
        let rest = url.dropFirst("http://".count).split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)[0]
        guard let colon = rest.lastIndex(of: ":"), let port = Int(rest[rest.index(after: colon)...]), (1...65535).contains(port),
              colon > rest.startIndex
        else { throw InvalidEndpoint(url: url) }
        self.init(host: String(rest[..<colon]), port: port)
    }

    public var description: String { "\(host):\(port)" }

    struct InvalidEndpoint: Error {
        var url: String
    }
}

/// What the gateway sends an instance.
struct UpstreamRequest: Sendable {
    var method: HTTPRequest.Method
    /// Path and query.
    var path: String
    var headerFields: HTTPFields
    var body: ByteBuffer?
}

/// What an instance answered.
struct UpstreamResponse: Sendable {
    var status: HTTPResponse.Status
    var headerFields: HTTPFields
    var body: ByteBuffer
}

/// Why an attempt produced no response. Transports throw this (and only this, besides
/// cancellation), so the retry rules do not depend on one client's error type.
struct UpstreamFailure: Error, Sendable, CustomStringConvertible {
    struct Kind: Sendable, Hashable {
        let name: String
        /// No connection could be made (refused, unreachable, connect timeout).
        static let connectFailed = Kind(name: "connect failed")
        /// No complete response within the attempt's time.
        static let timeout = Kind(name: "timeout")
        /// The connection ended before a complete response.
        static let connectionClosed = Kind(name: "connection closed")
        /// The instance answered something that is not a usable response (malformed, too large).
        static let badResponse = Kind(name: "bad response")
    }

    var kind: Kind
    /// False only when nothing of the request reached the instance: then any request may be
    /// sent elsewhere.
    var requestSent: Bool
    var detail: String

    var description: String { "\(kind.name)\(requestSent ? " after sending" : " before sending"): \(detail)" }
}

/// Sends one request to one instance. The gateway's client in production, fakes in tests.
protocol UpstreamTransport: Sendable {
    func execute(_ request: UpstreamRequest, on endpoint: UpstreamEndpoint, timeout: Duration) async throws -> UpstreamResponse
}
