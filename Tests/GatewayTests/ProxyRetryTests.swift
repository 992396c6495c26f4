import ChatterCore
@testable import Gateway
import HTTPTypes
import ServiceClient
import Synchronization
import Testing

/// Answers from a script per instance, and records which instance got what.
final class ScriptedTransport: UpstreamTransport {
    private let script: @Sendable (ServiceRequest, ServiceEndpoint) throws -> ServiceResponse
    private let log = Mutex<[ServiceEndpoint]>([])

    init(_ script: @escaping @Sendable (ServiceRequest, ServiceEndpoint) throws -> ServiceResponse) {
        self.script = script
    }

    var calls: [ServiceEndpoint] { log.withLock { $0 } }

    func execute(_ request: ServiceRequest, on endpoint: ServiceEndpoint, timeout: Duration?) async throws -> ServiceResponse {
        log.withLock { $0.append(endpoint) }
        return try script(request, endpoint)
    }
}

@Suite struct ProxyRetryTests {
    let a = ServiceEndpoint(host: "10.0.0.1", port: 8080)
    let b = ServiceEndpoint(host: "10.0.0.2", port: 8080)
    let c = ServiceEndpoint(host: "10.0.0.3", port: 8080)

    static let refused = ServiceClientError(.connectFailed, "refused", requestSent: false)
    static let reset = ServiceClientError(.connectionClosed, "reset", requestSent: true)
    static let slow = ServiceClientError(.timeout, "slow", requestSent: true)

    @Test(arguments: [HTTPRequest.Method.get, .post, .patch, .delete])
    func notSentGoesElsewhereForAnyMethodAndMarksDown(method: HTTPRequest.Method) {
        let decision = RetryPolicy.decide(ServiceRequest(method: method, path: "/"), failure: Self.refused)
        #expect(decision == .retry(markDown: true))
    }

    @Test func sentButUnansweredIsRetriedOnlyWhenIdempotent() {
        for method in [HTTPRequest.Method.get, .head, .put, .delete, .options] {
            #expect(RetryPolicy.decide(ServiceRequest(method: method, path: "/"), failure: Self.reset) == .retry(markDown: false))
            #expect(RetryPolicy.decide(ServiceRequest(method: method, path: "/"), failure: Self.slow) == .retry(markDown: false))
        }
        for method in [HTTPRequest.Method.post, .patch] {
            #expect(RetryPolicy.decide(ServiceRequest(method: method, path: "/"), failure: Self.reset) == .fail)
            #expect(RetryPolicy.decide(ServiceRequest(method: method, path: "/"), failure: Self.slow) == .fail)
        }
        let tooLarge = ServiceClientError(.responseTooLarge, "big", requestSent: true)
        #expect(RetryPolicy.decide(ServiceRequest(method: .get, path: "/"), failure: tooLarge) == .fail)
    }

    func forwarder(_ transport: ScriptedTransport, _ endpoints: [ServiceEndpoint], retries: Int = 2) -> (ProxyForwarder, UpstreamBalancer) {
        let balancer = UpstreamBalancer(upstreams: [.chat: endpoints])
        return (ProxyForwarder(balancer: balancer, transport: transport, tryTimeout: .seconds(1), retries: retries), balancer)
    }

    @Test func aPostThatCouldNotBeSentGoesToTheNextInstance() async throws {
        let a = a
        let transport = ScriptedTransport { _, endpoint in
            if endpoint == a { throw Self.refused }
            return ServiceResponse(status: .created)
        }
        let (forwarder, balancer) = forwarder(transport, [a, b])
        let response = try await forwarder.forward(ServiceRequest(method: .post, path: "/v1/chats"), to: .chat, logger: quietLogger)
        #expect(response.status == .created)
        #expect(transport.calls == [a, b])
        #expect(!balancer.isUp(a))
    }

    @Test func aPostThatWasSentIsNotRepeated() async throws {
        let transport = ScriptedTransport { _, _ in throw Self.slow }
        let (forwarder, balancer) = forwarder(transport, [a, b])
        let error = await #expect(throws: ChatterError.self) {
            try await forwarder.forward(ServiceRequest(method: .post, path: "/v1/chats"), to: .chat, logger: quietLogger)
        }
        #expect(error?.code == .unavailable)
        #expect(transport.calls == [a])
        #expect(balancer.isUp(a))  // slow is not down; the health check decides
    }

    @Test func aGetIsRepeatedUpToTheRetryBudget() async throws {
        let transport = ScriptedTransport { _, _ in throw Self.reset }
        let (forwarder, _) = forwarder(transport, [a, b, c, ServiceEndpoint(host: "10.0.0.4", port: 8080)], retries: 2)
        await #expect(throws: ChatterError.self) {
            try await forwarder.forward(ServiceRequest(method: .get, path: "/v1/chats"), to: .chat, logger: quietLogger)
        }
        #expect(transport.calls == [a, b, c])
    }

    @Test func anAnswerIsNeverRepeatedWhateverItsStatus() async throws {
        let transport = ScriptedTransport { _, _ in ServiceResponse(status: .internalServerError) }
        let (forwarder, _) = forwarder(transport, [a, b])
        let response = try await forwarder.forward(ServiceRequest(method: .get, path: "/v1/chats"), to: .chat, logger: quietLogger)
        #expect(response.status == .internalServerError)
        #expect(transport.calls == [a])
    }

    @Test func noInstanceUpIsA503WithoutTryingAny() async throws {
        let transport = ScriptedTransport { _, _ in ServiceResponse(status: .ok) }
        let (forwarder, balancer) = forwarder(transport, [a, b])
        balancer.report(a, up: false)
        balancer.report(b, up: false)
        let error = await #expect(throws: ChatterError.self) {
            try await forwarder.forward(ServiceRequest(method: .get, path: "/v1/chats"), to: .chat, logger: quietLogger)
        }
        #expect(error?.code == .unavailable)
        #expect(error?.code.status == 503)
        #expect(transport.calls.isEmpty)
    }

    @Test func theHealthCheckerMarksDownAndUp() async throws {
        let a = a
        let healthy = Mutex(false)
        let transport = ScriptedTransport { request, endpoint in
            #expect(request.path == "/healthz")
            if endpoint == a, !healthy.withLock({ $0 }) { throw Self.refused }
            return ServiceResponse(status: .ok)
        }
        let balancer = UpstreamBalancer(upstreams: [.chat: [a, b]])
        let checker = UpstreamHealthChecker(
            balancer: balancer, transport: transport, interval: .seconds(1), timeout: .seconds(1), logger: quietLogger)
        await checker.probeAll()
        #expect(balancer.isUp(a), "one failed probe is not an outage")
        await checker.probeAll()
        #expect(!balancer.isUp(a))
        #expect(balancer.isUp(b))
        healthy.withLock { $0 = true }
        await checker.probeAll()
        #expect(balancer.isUp(a))
    }
}
