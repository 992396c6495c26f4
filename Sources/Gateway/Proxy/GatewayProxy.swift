import ChatterCore
import ChatterHTTP
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import Logging
import ServiceClient
import ServiceLifecycle
import Telemetry

/// The gateway's reverse proxy: forwards the public API of the roles this process does not run
/// to their instances (`ProxyRouteTable`), balanced round robin over the instances that are up
/// (`UpstreamBalancer`, kept current by `UpstreamHealthChecker`), with retries on other
/// instances where that is safe (`RetryPolicy`), and relays `/v1/ws` (`WebSocketRelay`).
///
/// Mounting: `addRoutes(to:)` registers exactly the route table's patterns, per method, rather
/// than a catch-all (`**`) or a forwarding middleware. Hummingbird's trie prefers constant
/// path components but resolves a catch-all against every path nobody else claimed, so a
/// catch-all would have to re-implement "is this the gateway's own route?" and would turn
/// every unknown path into a proxied one; a middleware runs before routing, so the access log
/// and metrics would see every proxied request as `unmatched`. Explicit patterns cannot shadow
/// the gateway's routes (none overlap), leave unknown paths and `/internal/...` to the router's
/// 404, and give metrics and logs the route template.
public struct GatewayProxy: Sendable {
    /// The methods forwarded on every proxied path; the instance answers 405 where it must.
    static let methods: [HTTPRequest.Method] = [.get, .head, .post, .put, .patch, .delete, .options]

    let roles: Set<Role>
    let balancer: UpstreamBalancer
    let forwarder: ProxyForwarder
    let relay: WebSocketRelay
    let addresses: ClientAddressResolver
    let healthChecker: UpstreamHealthChecker

    /// - Parameters:
    ///   - roles: the roles to forward: those this process does not run itself.
    ///   - trustedProxies: `ChatterConfiguration.trustedProxies`, to find the client's address.
    ///   - client: the process's HTTP client for other roles; its owner shuts it down.
    public init(
        configuration: Configuration, proxying roles: Set<Role>, trustedProxies: [String], client: ServiceHTTPClient, logger: Logger
    ) {
        self.init(configuration: configuration, proxying: roles, trustedProxies: trustedProxies, transport: client, logger: logger)
    }

    init(
        configuration: Configuration, proxying roles: Set<Role>, trustedProxies: [String], transport: any UpstreamTransport,
        logger: Logger
    ) {
        self.roles = roles.subtracting([.gateway])
        let upstreams = configuration.upstreams.filter { roles.contains($0.key) }
        balancer = UpstreamBalancer(upstreams: upstreams)
        forwarder = ProxyForwarder(
            balancer: balancer, transport: transport, tryTimeout: configuration.tryTimeout, retries: configuration.retries)
        relay = WebSocketRelay(
            balancer: balancer, attempts: configuration.retries + 1, maxMessageBytes: configuration.maxWebSocketMessageBytes)
        addresses = ClientAddressResolver(trustedProxies: Set(trustedProxies))
        healthChecker = UpstreamHealthChecker(
            balancer: balancer, transport: transport, interval: configuration.healthCheckInterval,
            timeout: configuration.healthCheckTimeout, logger: logger)
    }

    /// The health checker; add it to the application's services.
    public var services: [any Service] { [healthChecker] }

    /// Closes every relayed WebSocket with 1001 "going away" (and refuses new ones the same
    /// way), waiting up to `timeout` for them to go. Call it when a shutdown signal arrives,
    /// before the server drains, as `buildServer`'s `beforeShutdown` does for the real-time role.
    public func closeAllGoingAway(timeout: Duration = .seconds(2)) async {
        await relay.sockets.closeAllGoingAway()
        let deadline = ContinuousClock.now + timeout
        while relay.sockets.count > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    public func addRoutes(to router: some RouterMethods<ChatterRequestContext>) {
        for route in ProxyRouteTable.routes where roles.contains(route.role) {
            if route.pattern == WebSocketRelay.path {
                router.ws(RouterPath(route.pattern)) { _, _ in
                    .upgrade([:])
                } onUpgrade: { inbound, outbound, context in
                    let headers = ProxyHeaders.upstreamWebSocket(
                        context.request.headers, origin: origin(of: context.request, context: context.requestContext, traced: false))
                    try await relay.relay(client: inbound, outbound, headers: headers, logger: context.logger)
                }
                continue
            }
            let role = route.role
            for method in Self.methods {
                router.on(RouterPath(route.pattern), method: method) { request, context in
                    try await forward(request, context: context, to: role)
                }
            }
        }
    }

    func forward(_ request: Request, context: ChatterRequestContext, to role: Role) async throws -> Response {
        var request = request
        let body = try await request.collectBody(upTo: context.maxUploadSize)
        let upstreamRequest = ServiceRequest(
            method: request.method, path: request.uri.string,
            headerFields: ProxyHeaders.upstreamRequest(request.headers, origin: origin(of: request, context: context, traced: true)),
            body: body.readableBytes > 0 ? body : nil)
        let response = try await forwarder.forward(upstreamRequest, to: role, logger: context.logger)
        return Response(
            status: response.status,
            headers: ProxyHeaders.clientResponse(response.headerFields, isHead: request.method == .head),
            body: .init(byteBuffer: response.body))
    }

    /// Who sent `request`. `traced`: take the trace context from the current span (an HTTP
    /// request's); a WebSocket's span has ended by the time it is relayed, so it passes on the
    /// client's `traceparent` instead.
    func origin(of request: Request, context: ChatterRequestContext, traced: Bool) -> ProxyHeaders.Origin {
        let peer = context.channel.remoteAddress?.ipAddress ?? "unknown"
        var scheme = "http"
        if addresses.trustedProxies.contains(peer), let forwarded = request.headers[.xForwardedProto], !forwarded.isEmpty {
            scheme = forwarded
        }
        return ProxyHeaders.Origin(
            clientAddress: addresses.address(of: request, context: context), scheme: scheme, requestID: context.requestID,
            traceparent: traced ? TraceHeaders.currentTraceparent() : request.headers[.traceparent])
    }
}
