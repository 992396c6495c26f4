import ChatterCore
import Logging
import ServiceClient

/// Sends a request to an instance of its role and returns the first response any instance
/// gives: up to `1 + retries` attempts, each on an instance not tried yet, as `RetryPolicy`
/// allows. No instance up, or no attempt left: a 503 (`ChatterError.unavailable`), never a 500.
struct ProxyForwarder: Sendable {
    let balancer: UpstreamBalancer
    let transport: any UpstreamTransport
    let tryTimeout: Duration
    let retries: Int

    func forward(_ request: ServiceRequest, to role: Role, logger: Logger) async throws -> ServiceResponse {
        var tried = Set<ServiceEndpoint>()
        var lastFailure: ServiceClientError?
        while tried.count <= retries, let endpoint = balancer.next(for: role, excluding: tried) {
            // A client that hung up cancels its request: no point trying further instances.
            try Task.checkCancellation()
            tried.insert(endpoint)
            do {
                return try await transport.execute(request, on: endpoint, timeout: tryTimeout)
            } catch let failure as ServiceClientError {
                lastFailure = failure
                logger.warning("upstream attempt failed", metadata: [
                    LoggingKeys.upstream: .stringConvertible(endpoint), LoggingKeys.errorDetail: .string(failure.description),
                ])
                guard case .retry(let markDown) = RetryPolicy.decide(request, failure: failure) else { break }
                if markDown, balancer.report(endpoint, up: false) == .wentDown {
                    logger.warning("upstream down", metadata: [LoggingKeys.upstream: .stringConvertible(endpoint)])
                }
            }
        }
        throw ChatterError.unavailable(
            role.rawValue,
            detail: lastFailure.map { "after \(tried.count) attempt(s): \($0)" } ?? "no \(role.rawValue) instance is up")
    }
}
