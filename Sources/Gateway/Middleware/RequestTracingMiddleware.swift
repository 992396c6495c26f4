import ChatterHTTP
import Hummingbird

/// Hummingbird's server spans for the API, minus the probes: Prometheus' scrapes and the
/// orchestrator's health checks arrive every few seconds and would bury real traces.
struct RequestTracingMiddleware: RouterMiddleware {
    typealias Context = ChatterRequestContext

    static let untraced: Set<String> = ["/metrics", "/healthz", "/readyz"]
    // Query parameters that could hold a credential never reach a span.
    let tracing = TracingMiddleware<ChatterRequestContext>(redactingQueryParameters: ["token", "access_token"])

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let route = context.endpointPath, Self.untraced.contains(route) {
            return try await next(request, context)
        }
        return try await tracing.handle(request, context: context, next: next)
    }
}
