import ChatterCore
import ChatterHTTP
import Foundation
@testable import Gateway
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import HummingbirdWSClient
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOWebSocket
import ServiceClient
import ServiceLifecycle
import Synchronization
import Testing

let quietLogger = Logger(label: "proxy-test", factory: { _ in SwiftLogNoOpLogHandler() })

/// A stand-in for a role instance: answers the proxied paths with what it saw, records every
/// request, and echoes WebSocket frames.
final class FakeUpstream: Sendable {
    let name: String
    private let state = Mutex<(requests: [String], healthy: Bool)>(([], true))
    private let running = Mutex<(port: Int, task: Task<Void, any Error>?)>((0, nil))

    init(name: String) {
        self.name = name
    }

    var port: Int { running.withLock { $0.port } }
    var endpoint: ServiceEndpoint { ServiceEndpoint(host: "127.0.0.1", port: port) }
    /// `METHOD /path` of every request but health probes, in order.
    var requests: [String] { state.withLock { $0.requests } }
    var healthy: Bool {
        get { state.withLock { $0.healthy } }
        set { state.withLock { $0.healthy = newValue } }
    }

    func record(_ line: String) { state.withLock { $0.requests.append(line) } }

    func start() async throws {
        let router = Router(context: BasicWebSocketRequestContext.self)
        router.get("/healthz") { _, _ in
            Response(status: self.healthy ? .ok : .serviceUnavailable)
        }
        for path in ["/v1/chats", "/v1/chats/{id}", "/v1/chats/{id}/messages", "/v1/users/**"] {
            for method in [HTTPRequest.Method.get, .head, .post, .patch, .delete] {
                router.on(RouterPath(path), method: method) { request, context in try await self.echo(request, context: context) }
            }
        }
        router.ws("/v1/ws") { inbound, outbound, context in
            try await self.webSocket(inbound, outbound, request: context.request)
        }
        let ports = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router, server: .http1WebSocketUpgrade(webSocketRouter: router),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { ports.continuation.yield($0.localAddress?.port ?? 0) }, logger: quietLogger)
        let task = Task { try await app.runService(gracefulShutdownSignals: []) }
        var iterator = ports.stream.makeAsyncIterator()
        let port = await iterator.next() ?? 0
        running.withLock { $0 = (port, task) }
    }

    /// Stops the server; its port then refuses connections.
    func stop() async {
        guard let task = running.withLock({ $0.task }) else { return }
        task.cancel()
        _ = await task.result
    }

    /// `?slow=<instance>` makes that instance take 1.5 s; `?status=503` answers that status.
    private func echo(_ request: Request, context: some RequestContext) async throws -> Response {
        record("\(request.method) \(request.uri.path)")
        if request.uri.queryParameters["slow"].map(String.init) == name {
            try await Task.sleep(for: .milliseconds(1500))
        }
        var request = request
        let body = try await request.collectBody(upTo: 1 << 20)
        let seen: [String: Any] = [
            "instance": name, "method": request.method.rawValue, "path": request.uri.string,
            "body": String(buffer: body),
            "x_request_id": request.headers[.init("X-Request-Id")!] ?? "",
            "x_forwarded_for": request.headers[values: .init("X-Forwarded-For")!].joined(separator: ","),
            "x_real_ip": request.headers[.init("X-Real-IP")!] ?? "",
            "x_forwarded_proto": request.headers[.init("X-Forwarded-Proto")!] ?? "",
            "traceparent": request.headers[.init("traceparent")!] ?? "",
            "x_custom": request.headers[.init("X-Custom")!] ?? "",
            "keep_alive": request.headers[.init("Keep-Alive")!] ?? "",
        ]
        let status = request.uri.queryParameters["status"].flatMap { Int($0) }
            ?? (request.method == .post ? 201 : 200)
        var headers: HTTPFields = [.contentType: "application/json", .init("X-Upstream")!: name]
        headers[.init("Keep-Alive")!] = "timeout=5"
        return Response(
            status: .init(code: status), headers: headers,
            body: .init(byteBuffer: ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: seen))))
    }

    /// Says hello with what the upgrade carried, echoes text (`close:<code>` closes with that
    /// code) and binary frames, and records its end.
    private func webSocket(_ inbound: WebSocketInboundStream, _ outbound: WebSocketOutboundWriter, request: Request) async throws {
        let hello: [String: Any] = [
            "type": "hello", "instance": name,
            "authorization": request.headers[.authorization] ?? "",
            "x_request_id": request.headers[.init("X-Request-Id")!] ?? "",
            "x_forwarded_for": request.headers[.init("X-Forwarded-For")!] ?? "",
        ]
        try await outbound.write(.text(String(decoding: try JSONSerialization.data(withJSONObject: hello), as: UTF8.self)))
        for try await message in inbound.messages(maxSize: 1 << 20) {
            switch message {
            case .text(let text):
                if text.hasPrefix("close:"), let code = Int(text.dropFirst("close:".count)) {
                    try await outbound.close(.init(codeNumber: code), reason: "closing with \(code)")
                    record("ws closed by upstream")
                    return
                }
                try await outbound.write(.text(#"{"type":"echo","text":"\#(text)","instance":"\#(name)"}"#))
            case .binary(let bytes):
                try await outbound.write(.binary(bytes))
            }
        }
        record("ws closed by client")
    }
}

/// Starts `count` fake upstreams named a, b, …, runs `body`, and stops them all.
func withFakeUpstreams(_ count: Int, _ body: ([FakeUpstream]) async throws -> Void) async throws {
    let upstreams = (0..<count).map { FakeUpstream(name: String(UnicodeScalar(UInt8(97 + $0)))) }
    do {
        for upstream in upstreams { try await upstream.start() }
        try await body(upstreams)
    } catch {
        for upstream in upstreams { await upstream.stop() }
        throw error
    }
    for upstream in upstreams { await upstream.stop() }
}

/// A gateway-only application: the request-id middleware (errors in the contract's shape), a
/// `/healthz` of its own, and the proxy. `healthChecks: false` leaves the balancer to what
/// requests find out, so tests can rely on the round-robin order.
func withProxyGateway(
    upstreams: [Role: [ServiceEndpoint]], healthChecks: Bool = true, tryTimeout: Duration = .seconds(2),
    pingInterval: Duration = .seconds(30),
    _ body: @escaping @Sendable (TestAPI, GatewayProxy) async throws -> Void
) async throws {
    var configuration = GatewayProxy.Configuration()
    configuration.upstreams = upstreams
    configuration.tryTimeout = tryTimeout
    configuration.healthCheckInterval = .milliseconds(100)
    // Generous: with the whole test suite on two cores, a probe can wait seconds for a core.
    configuration.healthCheckTimeout = .seconds(3)
    // Patient connects: a loopback connect can wait seconds for a core under the whole suite.
    var clientConfiguration = ServiceHTTPClient.Configuration()
    clientConfiguration.connectTimeout = .seconds(10)
    let client = ServiceHTTPClient(configuration: clientConfiguration)
    let proxy = GatewayProxy(
        configuration: configuration, proxying: Set(Role.upstreamRoles), trustedProxies: [], client: client, logger: quietLogger)
    let router = Router(context: ChatterRequestContext.self)
    router.add(middleware: RequestIDMiddleware(maxBodyBytes: 64 * 1024))
    router.get("/healthz") { _, _ in "gateway" }
    proxy.addRoutes(to: router)
    let app = Application(
        router: router,
        server: .http1WebSocketUpgrade(
            webSocketRouter: router, configuration: .init(ws: WebSocketRelay.serverConfiguration(pingInterval: pingInterval))),
        configuration: .init(address: .hostname("127.0.0.1", port: 0)),
        services: healthChecks ? proxy.services : [], logger: quietLogger)
    try await app.test(.live) { testClient in
        try await body(TestAPI(client: testClient), proxy)
    }
    await client.shutdown()
}

/// Polls `condition` every 20 ms for up to `timeout`.
func eventually(timeout: Duration = .seconds(5), _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}

/// Sends `bytes` as one binary message through `/v1/ws` on `port` and returns the first binary
/// message that comes back.
func binaryRoundTrip(port: Int, _ bytes: [UInt8]) async throws -> [UInt8]? {
    let received = Mutex<[UInt8]?>(nil)
    try await WebSocketClient.connect(url: "ws://127.0.0.1:\(port)/v1/ws", logger: quietLogger) { inbound, outbound, _ in
        try await outbound.write(.binary(ByteBuffer(bytes: bytes)))
        for try await message in inbound.messages(maxSize: 1 << 20) {
            if case .binary(let buffer) = message {
                received.withLock { $0 = Array(buffer.readableBytesView) }
                return
            }
        }
    }
    return received.withLock { $0 }
}
