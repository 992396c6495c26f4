import ChatterCore
import HTTPTypes
import Logging
import ServiceClient
import ServiceLifecycle

/// Probes every instance's `GET /healthz` once per interval, all instances at once, and tells
/// the balancer: a 2xx marks an instance up, anything else (another status, a refused
/// connection, no answer within the probe timeout) twice in a row marks it down. Runs until
/// graceful shutdown.
struct UpstreamHealthChecker: Service {
    let balancer: UpstreamBalancer
    let transport: any UpstreamTransport
    let interval: Duration
    let timeout: Duration
    let logger: Logger

    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                while true {
                    await probeAll()
                    try await Task.sleep(for: interval)
                }
            }
        } catch is CancellationError {
            // Shutdown: nothing to clean up.
        }
    }

    /// One round: every instance probed concurrently, each verdict reported as it arrives.
    func probeAll() async {
        await withTaskGroup(of: (ServiceEndpoint, Bool, String?).self) { group in
            for endpoint in balancer.endpoints {
                group.addTask { await probe(endpoint) }
            }
            for await (endpoint, up, failure) in group {
                guard !Task.isCancelled else { return }
                switch balancer.reportProbe(endpoint, up: up) {
                case .wentDown:
                    logger.warning("upstream down", metadata: [
                        LoggingKeys.upstream: .stringConvertible(endpoint), LoggingKeys.errorDetail: .string(failure ?? ""),
                    ])
                case .cameUp:
                    logger.info("upstream up", metadata: [LoggingKeys.upstream: .stringConvertible(endpoint)])
                case nil:
                    break
                }
            }
        }
    }

    private func probe(_ endpoint: ServiceEndpoint) async -> (ServiceEndpoint, Bool, String?) {
        do {
            let response = try await transport.execute(
                ServiceRequest(method: .get, path: "/healthz"), on: endpoint, timeout: timeout)
            let up = (200..<300).contains(response.status.code)
            return (endpoint, up, up ? nil : "health check answered \(response.status.code)")
        } catch {
            return (endpoint, false, "\(error)")
        }
    }
}

extension LoggingKeys {
    /// The instance a log line is about, as `host:port` (ECS `destination.address`).
    static let upstream = "destination.address"
}
