import ChatterCore
import ServiceClient
import Synchronization

/// Round robin over the instances of each role that are up, shared by every request and the
/// health checker. Only the bookkeeping happens under the lock; callers do their I/O outside.
final class UpstreamBalancer: Sendable {
    private let state: Mutex<UpstreamPoolState>

    init(upstreams: [Role: [ServiceEndpoint]]) {
        state = Mutex(UpstreamPoolState(upstreams: upstreams))
    }

    var endpoints: [ServiceEndpoint] { state.withLock { $0.endpoints } }

    func isUp(_ endpoint: ServiceEndpoint) -> Bool { state.withLock { $0.isUp(endpoint) } }

    func next(for role: Role, excluding excluded: Set<ServiceEndpoint> = []) -> ServiceEndpoint? {
        state.withLock { $0.next(for: role, excluding: excluded) }
    }

    @discardableResult
    func report(_ endpoint: ServiceEndpoint, up: Bool) -> UpstreamPoolState.Transition? {
        state.withLock { $0.report(endpoint, up: up) }
    }

    @discardableResult
    func reportProbe(_ endpoint: ServiceEndpoint, up: Bool) -> UpstreamPoolState.Transition? {
        state.withLock { $0.reportProbe(endpoint, up: up) }
    }
}
