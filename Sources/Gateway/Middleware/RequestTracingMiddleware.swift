import ChatterHTTP
import Hummingbird
import Tracing

/// Hummingbird's server spans for the API, minus the probes: Prometheus' scrapes and the
/// orchestrator's health checks arrive every few seconds and would bury real traces.
///
/// With no tracer bootstrapped (no `OTEL_*` endpoint) requests skip Hummingbird's middleware
/// altogether: it would still build every span attribute for a span that goes nowhere, about 3%
/// of a history read's CPU in a profile (2026-12-07).
struct RequestTracingMiddleware: RouterMiddleware {
    typealias Context = ChatterRequestContext

    static let untraced: Set<String> = ["/metrics", "/healthz", "/readyz"]
    // Query parameters that could hold a credential never reach a span.
    let tracing = TracingMiddleware<ChatterRequestContext>(redactingQueryParameters: ["token", "access_token"])

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if InstrumentationSystem.tracer is NoOpTracer {
            return try await next(request, context)
        }
        if let route = context.endpointPath, Self.untraced.contains(route) {
            return try await next(request, context)
        }
        return try await tracing.handle(request, context: context, next: next)
    }
}
