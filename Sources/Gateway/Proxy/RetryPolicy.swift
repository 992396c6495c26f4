import ServiceClient

/// Whether a failed attempt may be repeated on another instance.
///
/// - Nothing was sent (the connection could not be made): any method may go elsewhere, since
///   the instance never saw it. A failed connect also marks the instance down.
/// - The request was sent but no response came (reset, timeout): only idempotent methods are
///   repeated; a POST or PATCH might have taken effect, so the client gets a 503 and decides.
/// - A response arrived: never repeated, whatever its status (see `ProxyForwarder`).
enum RetryPolicy {
    enum Decision: Sendable, Equatable {
        case retry(markDown: Bool)
        case fail
    }

    static func decide(_ request: ServiceRequest, failure: ServiceClientError) -> Decision {
        if !failure.requestSent {
            return failure.code == .shutDown ? .fail : .retry(markDown: failure.code == .connectFailed)
        }
        guard request.isIdempotent else { return .fail }
        switch failure.code {
        case .timeout, .connectionClosed: return .retry(markDown: false)
        default: return .fail
        }
    }
}
