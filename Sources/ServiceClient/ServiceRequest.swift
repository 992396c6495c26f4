import HTTPTypes
import NIOCore

/// A request to another role's instance. Bodies are small JSON documents, so they are sent
/// and received whole rather than streamed.
public struct ServiceRequest: Sendable {
    public var method: HTTPRequest.Method
    /// Path and query, e.g. `/internal/v1/chats/c1/members/u1`.
    public var path: String
    public var headerFields: HTTPFields
    public var body: ByteBuffer?

    public init(method: HTTPRequest.Method, path: String, headerFields: HTTPFields = [:], body: ByteBuffer? = nil) {
        self.method = method
        self.path = path
        self.headerFields = headerFields
        self.body = body
    }

    /// Whether sending it twice has the effect of sending it once (RFC 9110 §9.2.2): only these
    /// may be retried after they may have reached the server.
    public var isIdempotent: Bool {
        switch method {
        case .get, .head, .put, .delete, .options, .trace: true
        default: false
        }
    }
}

/// The whole answer of an instance.
public struct ServiceResponse: Sendable {
    public var status: HTTPResponse.Status
    public var headerFields: HTTPFields
    public var body: ByteBuffer

    public init(status: HTTPResponse.Status, headerFields: HTTPFields = [:], body: ByteBuffer = ByteBuffer()) {
        self.status = status
        self.headerFields = headerFields
        self.body = body
    }
}
