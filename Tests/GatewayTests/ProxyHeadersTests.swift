@testable import Gateway
import HTTPTypes
import Testing

@Suite struct ProxyHeadersTests {
    let origin = ProxyHeaders.Origin(clientAddress: "203.0.113.7", scheme: "http", requestID: "req-1", traceparent: nil)

    @Test func hopByHopHeadersStop() {
        let fields: HTTPFields = [
            .connection: "keep-alive, X-Private", .init("Keep-Alive")!: "timeout=5", .init("Proxy-Authorization")!: "Basic x",
            .init("Proxy-Connection")!: "keep-alive", .te: "trailers", .init("Trailer")!: "Expires",
            .transferEncoding: "chunked", .upgrade: "h2c", .init("X-Private")!: "named by Connection",
            .authorization: "Bearer t", .contentType: "application/json", .init("X-Custom")!: "kept",
        ]
        let passed = ProxyHeaders.endToEnd(fields)
        #expect(passed.map(\.name.canonicalName).sorted() == ["authorization", "content-type", "x-custom"])
    }

    @Test func theGatewaySetsWhoAndWhichRequest() {
        let fields: HTTPFields = [
            .init("X-Forwarded-For")!: "6.6.6.6", .init("X-Real-IP")!: "6.6.6.6", .init("X-Forwarded-Proto")!: "https",
            .init("X-Request-Id")!: "client-chosen", .contentLength: "12", .expect: "100-continue", .authorization: "Bearer t",
        ]
        let sent = ProxyHeaders.upstreamRequest(fields, origin: origin)
        #expect(sent[values: .init("X-Forwarded-For")!] == ["203.0.113.7"])
        #expect(sent[values: .init("X-Real-IP")!] == ["203.0.113.7"])
        #expect(sent[.init("X-Forwarded-Proto")!] == "http")
        #expect(sent[values: .init("X-Request-Id")!] == ["req-1"])
        #expect(sent[.contentLength] == nil)
        #expect(sent[.expect] == nil)
        #expect(sent[.authorization] == "Bearer t")
    }

    @Test func traceContextIsTheGatewaysWhenItTracesElseTheClients() {
        let fields: HTTPFields = [.init("traceparent")!: "00-client-01"]
        #expect(ProxyHeaders.upstreamRequest(fields, origin: origin)[.init("traceparent")!] == "00-client-01")
        var traced = origin
        traced.traceparent = "00-gateway-01"
        #expect(ProxyHeaders.upstreamRequest(fields, origin: traced)[values: .init("traceparent")!] == ["00-gateway-01"])
    }

    @Test func responsesLoseHopByHopAndTheirLengthExceptForHead() {
        let fields: HTTPFields = [.connection: "close", .transferEncoding: "chunked", .contentLength: "42", .init("X-Upstream")!: "a"]
        let get = ProxyHeaders.clientResponse(fields, isHead: false)
        #expect(get.map(\.name.canonicalName) == ["x-upstream"])
        #expect(ProxyHeaders.clientResponse(fields, isHead: true)[.contentLength] == "42")
    }

    @Test func theUpgradeToANotificationInstanceCarriesOnlyTokenAndOrigin() {
        let fields: HTTPFields = [.authorization: "Bearer t", .cookie: "a=b", .init("X-Forwarded-For")!: "6.6.6.6"]
        let sent = ProxyHeaders.upstreamWebSocket(fields, origin: origin)
        #expect(sent[.authorization] == "Bearer t")
        #expect(sent[.cookie] == nil)
        #expect(sent[values: .init("X-Forwarded-For")!] == ["203.0.113.7"])
        #expect(sent[.init("X-Request-Id")!] == "req-1")
    }
}
