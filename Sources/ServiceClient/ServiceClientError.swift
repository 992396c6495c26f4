/// Why a call to another instance failed. `requestSent` is what a caller needs to decide on a
/// retry: false only when nothing of the request can have reached the server.
public struct ServiceClientError: Error, CustomStringConvertible, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        /// No connection could be made (refused, unreachable, connect timeout).
        public static let connectFailed = Code(name: "connect_failed")
        /// No complete answer within the request's time budget.
        public static let timeout = Code(name: "timeout")
        /// The connection ended before a complete answer.
        public static let connectionClosed = Code(name: "connection_closed")
        /// The answer was bigger than `maxResponseBytes`.
        public static let responseTooLarge = Code(name: "response_too_large")
        /// The answer was not HTTP/1.1 we could read.
        public static let invalidResponse = Code(name: "invalid_response")
        /// An endpoint URL that is not `http://host:port`.
        public static let invalidURL = Code(name: "invalid_url")
        /// The client was shut down.
        public static let shutDown = Code(name: "shut_down")

        public var description: String { name }
    }

    public var code: Code
    public var detail: String
    public var requestSent: Bool

    public init(_ code: Code, _ detail: String, requestSent: Bool) {
        self.code = code
        self.detail = detail
        self.requestSent = requestSent
    }

    public var description: String { "\(code): \(detail)" }
}
