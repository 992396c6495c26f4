import ChatterCore
import Logging

/// Sends a request to an instance of its role and returns the first response any instance
/// gives: up to `1 + retries` attempts, each on an instance not tried yet, as `RetryPolicy`
/// allows. No instance up, or no attempt left: a 503 (`ChatterError.unavailable`), never a 500.
struct ProxyForwarder: Sendable {
    let balancer: UpstreamBalancer
    let transport: any UpstreamTransport
    let tryTimeout: Duration
    let retries: Int

    func forward(_ request: UpstreamRequest, to role: UpstreamRole, logger: Logger) async throws -> UpstreamResponse {
        var tried = Set<UpstreamEndpoint>()
        var lastFailure: UpstreamFailure?
        while tried.count <= retries, let endpoint = balancer.next(for: role, excluding: tried) {
            tried.insert(endpoint)
            do {
                return try await transport.execute(request, on: endpoint, timeout: tryTimeout)
            } catch let failure as UpstreamFailure {
                lastFailure = failure
                let decision = RetryPolicy.decide(method: request.method, failure: failure)
                logger.warning("upstream attempt failed", metadata: [
                    LoggingKeys.upstream: .stringConvertible(endpoint), LoggingKeys.errorDetail: .string(failure.description),
                ])
                guard case .retry(let markDown) = decision else { break }
                if markDown, balancer.report(endpoint, up: false) == .wentDown {
                    logger.warning("upstream down", metadata: [LoggingKeys.upstream: .stringConvertible(endpoint)])
                }
            }
        }
        throw ChatterError.unavailable(
            role.name,
            detail: lastFailure.map { "after \(tried.count) attempt(s): \($0)" } ?? "no \(role.name) instance is up")
    }
}
