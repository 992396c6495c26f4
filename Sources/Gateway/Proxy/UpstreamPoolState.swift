import ChatterCore
import ServiceClient
/// The instances of every role, which of them are up, and whose turn is next. A plain value:
/// `UpstreamBalancer` keeps it under a lock, and the tests drive it alone.
///
/// Health belongs to an instance, not to a role: an instance listed for two roles is probed
/// once and is up or down for both.
struct UpstreamPoolState: Sendable {
    /// What a health report changed, for the log.
    enum Transition: Sendable, Equatable {
        case wentDown
        case cameUp
    }

    private struct Pool {
        var endpoints: [ServiceEndpoint]
        /// Index of the instance to try first next time.
        var cursor = 0
    }

    private var pools: [Role: Pool]
    private var down: Set<ServiceEndpoint> = []
    /// Failed probes in a row per instance that is still up.
    private var strikes: [ServiceEndpoint: Int] = [:]
    /// Failed probes in a row that take an instance out. One slow probe on a busy machine is
    /// not an outage; a request that cannot connect still marks it down at once (`report`).
    var probeFailuresToMarkDown = 2

    /// Every instance starts up: until the first probe says otherwise, a request may as well try
    /// it, and a connect failure marks it down at once.
    init(upstreams: [Role: [ServiceEndpoint]]) {
        pools = upstreams.mapValues { Pool(endpoints: $0) }
    }

    /// Every distinct instance, each once.
    var endpoints: [ServiceEndpoint] {
        var seen = Set<ServiceEndpoint>()
        return pools.keys.sorted().flatMap { pools[$0]!.endpoints }.filter { seen.insert($0).inserted }
    }

    func isUp(_ endpoint: ServiceEndpoint) -> Bool { !down.contains(endpoint) }

    /// The next instance of `role` in round-robin order that is up and not in `excluded`, or
    /// nil when there is none.
    mutating func next(for role: Role, excluding excluded: Set<ServiceEndpoint> = []) -> ServiceEndpoint? {
        guard var pool = pools[role], !pool.endpoints.isEmpty else { return nil }
        defer { pools[role] = pool }
        let count = pool.endpoints.count
        for offset in 0..<count {
            let index = (pool.cursor + offset) % count
            let endpoint = pool.endpoints[index]
            if !down.contains(endpoint), !excluded.contains(endpoint) {
                pool.cursor = (index + 1) % count
                return endpoint
            }
        }
        return nil
    }

    /// Records a health probe's verdict: up at once, down after `probeFailuresToMarkDown` in a row.
    @discardableResult
    mutating func reportProbe(_ endpoint: ServiceEndpoint, up: Bool) -> Transition? {
        if up {
            strikes[endpoint] = nil
            return report(endpoint, up: true)
        }
        guard !down.contains(endpoint) else { return nil }
        strikes[endpoint, default: 0] += 1
        guard strikes[endpoint]! >= probeFailuresToMarkDown else { return nil }
        strikes[endpoint] = nil
        return report(endpoint, up: false)
    }

    /// Records a request's verdict on `endpoint` (or a probe's, once it counts).
    @discardableResult
    mutating func report(_ endpoint: ServiceEndpoint, up: Bool) -> Transition? {
        if up {
            return down.remove(endpoint) == nil ? nil : .cameUp
        }
        return down.insert(endpoint).inserted ? .wentDown : nil
    }
}
