import ChatterCore
import ChatterHTTP
import Hummingbird
import NIOCore
import Telemetry

/// `GET /metrics` in Prometheus' text format. No token: it holds no user data, and deployments
/// keep it off the public ingress (deploy/nginx refuses it) while Prometheus scrapes each
/// instance directly.
struct MetricsRoutes: Sendable {
    let metrics: ChatterMetrics

    func addRoutes(to router: some RouterMethods<ChatterRequestContext>) {
        router.get("/metrics") { _, _ in
            let body = await metrics.exposition()
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }
    }
}
