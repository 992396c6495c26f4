import Synchronization

/// Round robin over the instances of each role that are up, shared by every request and the
/// health checker. Only the bookkeeping happens under the lock; callers do their I/O outside.
final class UpstreamBalancer: Sendable {
    private let state: Mutex<UpstreamPoolState>

    init(upstreams: [UpstreamRole: [UpstreamEndpoint]]) {
        state = Mutex(UpstreamPoolState(upstreams: upstreams))
    }

    var endpoints: [UpstreamEndpoint] { state.withLock { $0.endpoints } }

    func isUp(_ endpoint: UpstreamEndpoint) -> Bool { state.withLock { $0.isUp(endpoint) } }

    func next(for role: UpstreamRole, excluding excluded: Set<UpstreamEndpoint> = []) -> UpstreamEndpoint? {
        state.withLock { $0.next(for: role, excluding: excluded) }
    }

    @discardableResult
    func report(_ endpoint: UpstreamEndpoint, up: Bool) -> UpstreamPoolState.Transition? {
        state.withLock { $0.report(endpoint, up: up) }
    }
}
