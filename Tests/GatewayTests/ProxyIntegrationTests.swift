import ChatterCore
import Foundation
@testable import Gateway
import HTTPTypes
import ServiceClient
import Testing

/// A gateway with the proxy in front of fake role instances, over real sockets.
/// Bounded: a relay that never answers fails its test instead of holding up the suite.
@Suite(.timeLimit(.minutes(1))) struct ProxyIntegrationTests {
    /// Nothing listens there: connections are refused.
    static let dead = ServiceEndpoint(host: "127.0.0.1", port: 1)

    @Test func requestsAndAnswersCrossWithBodyStatusAndHeaders() async throws {
        try await withFakeUpstreams(1) { upstreams in
            let a = upstreams[0]
            try await withProxyGateway(upstreams: [.chat: [a.endpoint], .messaging: [a.endpoint], .auth: [a.endpoint]]) { api, _ in
                let get = try await api.call(
                    .get, "/v1/chats?limit=5",
                    headers: [.init("X-Request-Id")!: "req-42", .init("X-Forwarded-For")!: "6.6.6.6", .init("X-Custom")!: "yes"])
                #expect(get.status == .ok)
                #expect(get.string("instance") == "a")
                #expect(get.string("path") == "/v1/chats?limit=5")
                #expect(get.string("x_request_id") == "req-42")
                #expect(get.headers[.init("X-Request-Id")!] == "req-42")
                #expect(get.string("x_forwarded_for") == "127.0.0.1")  // the client's own claim is replaced
                #expect(get.string("x_real_ip") == "127.0.0.1")
                #expect(get.string("x_forwarded_proto") == "http")
                #expect(get.string("x_custom") == "yes")
                #expect(get.headers[.init("X-Upstream")!] == "a")
                #expect(get.headers[.init("Keep-Alive")!] == nil)

                let post = try await api.call(.post, "/v1/chats/c1/messages", json: ["body": "hello"])
                #expect(post.status == .created)
                #expect(post.string("method") == "POST")
                #expect(post.string("body") == #"{"body":"hello"}"#)
                #expect((post.headers[.init("X-Request-Id")!] ?? "").isEmpty == false)
                #expect(post.string("x_request_id") == post.headers[.init("X-Request-Id")!])

                let failing = try await api.call(.get, "/v1/chats/c1?status=503")
                #expect(failing.status == .serviceUnavailable)  // passed through, not retried
                #expect(failing.string("instance") == "a")

                let users = try await api.call(.get, "/v1/users/me")
                #expect(users.string("path") == "/v1/users/me")
                #expect(a.requests == ["GET /v1/chats", "POST /v1/chats/c1/messages", "GET /v1/chats/c1", "GET /v1/users/me"])
            }
        }
    }

    @Test func theGatewaysOwnAndInternalPathsAreNeverForwarded() async throws {
        try await withFakeUpstreams(1) { upstreams in
            let a = upstreams[0]
            try await withProxyGateway(upstreams: [.chat: [a.endpoint], .auth: [a.endpoint]]) { api, _ in
                let health = try await api.call(.get, "/healthz")
                #expect(health.text == "gateway")
                let hidden = try await api.call(.get, "/internal/v1/chats/c1/members/u1")
                #expect(hidden.status == .notFound)
                #expect(hidden.errorCode == "not_found")
                #expect(a.requests.isEmpty)
            }
        }
    }

    @Test func roundRobinSkipsInstancesThatAreDownAndTakesThemBack() async throws {
        try await withFakeUpstreams(2) { upstreams in
            let (a, b) = (upstreams[0], upstreams[1])
            try await withProxyGateway(upstreams: [.chat: [a.endpoint, b.endpoint]]) { api, proxy in
                func instances(_ count: Int) async throws -> [String] {
                    var seen: [String] = []
                    for _ in 0..<count { seen.append(try await api.call(.get, "/v1/chats").string("instance") ?? "?") }
                    return seen
                }
                let both = try await instances(4)
                #expect(Set(both) == ["a", "b"])
                #expect(both[0] != both[1] && both[1] != both[2] && both[2] != both[3])

                b.healthy = false  // its /healthz answers 503
                #expect(try await eventually { !proxy.balancer.isUp(b.endpoint) })
                #expect(try await instances(3) == ["a", "a", "a"])
                b.healthy = true
                #expect(try await eventually { proxy.balancer.isUp(b.endpoint) })
                #expect(Set(try await instances(2)) == ["a", "b"])

                await a.stop()
                #expect(try await eventually { !proxy.balancer.isUp(a.endpoint) })
                #expect(try await instances(3) == ["b", "b", "b"])
            }
        }
    }

    @Test func aPostThatCouldNotBeSentIsRetriedElsewhere() async throws {
        try await withFakeUpstreams(1) { upstreams in
            let live = upstreams[0]
            // No health checks: the first request meets the dead instance first.
            try await withProxyGateway(upstreams: [.messaging: [Self.dead, live.endpoint]], healthChecks: false) { api, proxy in
                let post = try await api.call(.post, "/v1/chats/c1/messages", json: ["body": "once"])
                #expect(post.status == .created)
                #expect(post.string("instance") == live.name)
                #expect(live.requests == ["POST /v1/chats/c1/messages"])
                #expect(!proxy.balancer.isUp(Self.dead))
            }
        }
    }

    @Test func aPostThatWasSentButUnansweredIsA503AndAGetGoesElsewhere() async throws {
        try await withFakeUpstreams(2) { upstreams in
            let (a, b) = (upstreams[0], upstreams[1])
            try await withProxyGateway(
                upstreams: [.messaging: [a.endpoint, b.endpoint]], healthChecks: false, tryTimeout: .milliseconds(500)
            ) { api, _ in
                // Turns start at a. a takes too long; the GET is repeated on b.
                let get = try await api.call(.get, "/v1/chats/c1/messages?slow=a")
                #expect(get.status == .ok)
                #expect(get.string("instance") == "b")
                // The turn is back at a: the POST reaches it, times out, and is not repeated.
                let post = try await api.call(.post, "/v1/chats/c1/messages?slow=a", json: ["body": "maybe"])
                #expect(post.status == .serviceUnavailable)
                #expect(post.errorCode == ChatterError.Code.unavailable.rawValue)
                // a answers both late, in whichever order its sleeps end: compare as a multiset.
                #expect(a.requests.sorted() == ["GET /v1/chats/c1/messages", "POST /v1/chats/c1/messages"])
                #expect(b.requests == ["GET /v1/chats/c1/messages"])
            }
        }
    }

    @Test func noInstanceUpIsA503InTheErrorShape() async throws {
        try await withProxyGateway(upstreams: [.chat: [Self.dead]]) { api, proxy in
            #expect(try await eventually { !proxy.balancer.isUp(Self.dead) })
            let result = try await api.call(.get, "/v1/chats")
            #expect(result.status == .serviceUnavailable)
            #expect(result.errorCode == ChatterError.Code.unavailable.rawValue)
            #expect((result.object("error")["message"] as? String)?.contains("chat") == true)
            // A role with no instance configured at all answers the same.
            let users = try await api.call(.get, "/v1/users/me")
            #expect(users.status == .serviceUnavailable)
        }
    }

    @Test func webSocketsAreRelayedBothWaysWithTheUpstreamsCloseCode() async throws {
        try await withFakeUpstreams(1) { upstreams in
            let a = upstreams[0]
            try await withProxyGateway(upstreams: [.notification: [a.endpoint]]) { api, _ in
                let code = try await withSocket(port: api.port, token: "token-1") { socket in
                    let hello = try await socket.next { $0.type == "hello" }
                    #expect(hello.json["authorization"] as? String == "Bearer token-1")
                    #expect(hello.json["x_forwarded_for"] as? String == "127.0.0.1")
                    #expect((hello.json["x_request_id"] as? String)?.isEmpty == false)
                    try await socket.sendText("ping-1")
                    let echo = try await socket.next { $0.type == "echo" }
                    #expect(echo.json["text"] as? String == "ping-1")
                    try await socket.sendText("close:4008")
                    return try await socket.waitForClose()
                }
                #expect(code == 4008)
                #expect(a.requests == ["ws closed by upstream"])

                // The client closing ends the upstream socket too.
                try await withSocket(port: api.port) { socket in
                    _ = try await socket.next { $0.type == "hello" }
                }
                #expect(try await eventually { a.requests == ["ws closed by upstream", "ws closed by client"] })

                // Binary messages cross too.
                #expect(try await binaryRoundTrip(port: api.port, [0, 1, 2, 255]) == [0, 1, 2, 255])
            }
        }
    }

    @Test(arguments: [1001, 1013, 4001])
    func closeCodesReachTheClientUnchanged(code: Int) async throws {
        try await withFakeUpstreams(1) { upstreams in
            try await withProxyGateway(upstreams: [.notification: [upstreams[0].endpoint]]) { api, _ in
                let received = try await withSocket(port: api.port) { socket in
                    _ = try await socket.next { $0.type == "hello" }
                    try await socket.sendText("close:\(code)")
                    return try await socket.waitForClose()
                }
                #expect(received == code)
            }
        }
    }

    @Test func noNotificationInstanceClosesWith1013() async throws {
        try await withProxyGateway(upstreams: [.notification: [Self.dead]], healthChecks: false) { api, _ in
            // The close comes right after the upgrade: a raw probe reads it (see `CloseCodeProbe`).
            let code = try await CloseCodeProbe.closeCode(port: api.port)
            #expect(code == 1013)
        }
    }

    /// A client that answers pings keeps its socket; one that stops answering (gone without a
    /// FIN) is closed with 1001, and the gateway closes its side at the instance too.
    @Test func clientsThatStopAnsweringPingsAreClosedWith1001() async throws {
        try await withFakeUpstreams(1) { upstreams in
            let a = upstreams[0]
            try await withProxyGateway(upstreams: [.notification: [a.endpoint]], pingInterval: .milliseconds(200)) { api, _ in
                // The library client answers pings: after many intervals its socket still echoes.
                try await withSocket(port: api.port) { socket in
                    _ = try await socket.next { $0.type == "hello" }
                    try await Task.sleep(for: .seconds(1))
                    try await socket.sendText("still here")
                    let echo = try await socket.next { $0.type == "echo" }
                    #expect(echo.json["text"] as? String == "still here")
                }
                // The probe never answers a ping.
                let code = try await CloseCodeProbe.closeCode(port: api.port, timeout: .seconds(20))
                #expect(code == 1001)
                #expect(try await eventually { a.requests.filter { $0 == "ws closed by client" }.count == 2 })
            }
        }
    }

    @Test func aShutdownClosesRelayedSocketsWith1001() async throws {
        try await withFakeUpstreams(1) { upstreams in
            let a = upstreams[0]
            try await withProxyGateway(upstreams: [.notification: [a.endpoint]]) { api, proxy in
                let code = try await withSocket(port: api.port) { socket in
                    _ = try await socket.next { $0.type == "hello" }
                    await proxy.closeAllGoingAway()
                    return try await socket.waitForClose()
                }
                #expect(code == 1001)
                #expect(try await eventually { a.requests.last == "ws closed by client" })
                // Sockets that arrive during the shutdown are turned away the same way.
                let late = try await CloseCodeProbe.closeCode(port: api.port)
                #expect(late == 1001)
            }
        }
    }

    @Test func bodiesOverTheGatewaysLimitAreRefusedBeforeForwarding() async throws {
        try await withFakeUpstreams(1) { upstreams in
            let a = upstreams[0]
            try await withProxyGateway(upstreams: [.messaging: [a.endpoint]]) { api, _ in
                let big = try await api.call(.post, "/v1/chats/c1/messages", rawBody: String(repeating: "x", count: 64 * 1024 + 1))
                #expect(big.status == .contentTooLarge)
                #expect(big.errorCode == "payload_too_large")
                #expect(a.requests.isEmpty)
            }
        }
    }
}
