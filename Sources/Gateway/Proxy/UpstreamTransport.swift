import ChatterCore
import ServiceClient

/// Sends one request to one instance: `ServiceHTTPClient` in production, fakes in the tests of
/// the retry rules. Failures are `ServiceClientError`s (besides cancellation).
protocol UpstreamTransport: Sendable {
    func execute(_ request: ServiceRequest, on endpoint: ServiceEndpoint, timeout: Duration?) async throws -> ServiceResponse
}

extension ServiceHTTPClient: UpstreamTransport {}

extension Role {
    /// The roles a gateway can forward to: all but itself.
    static let upstreamRoles: [Role] = Role.allCases.filter { $0 != .gateway }
}
