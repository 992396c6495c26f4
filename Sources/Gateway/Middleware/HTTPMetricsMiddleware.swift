import ChatterHTTP
import Hummingbird
import Telemetry

/// Rate, errors and duration per route template. Outermost, so it sees the final status of
/// every answer, including the contract errors `RequestIDMiddleware` renders and 429s.
/// Prometheus' own scrapes of `/metrics` are left out: they would show an idle instance busy
/// and dilute its error ratio.
struct HTTPMetricsMiddleware: RouterMiddleware {
    typealias Context = ChatterRequestContext

    let metrics: ChatterMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // The router fills the template in before middleware runs; nil means no route matched.
        let route = context.endpointPath ?? "unmatched"
        guard route != "/metrics" else { return try await next(request, context) }
        let started = ContinuousClock.now
        metrics.requestStarted()
        let method = request.method.rawValue
        do {
            let response = try await next(request, context)
            metrics.requestFinished(method: method, route: route, status: response.status.code, duration: ContinuousClock.now - started)
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            metrics.requestFinished(method: method, route: route, status: status, duration: ContinuousClock.now - started)
            throw error
        }
    }
}
