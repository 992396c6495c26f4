import ChatterCore
import Foundation
import HTTPTypes
import Testing

@Suite struct OperationsTests {
    @Test func healthReadinessAndOpenAPI() async throws {
        try await withApp { api in
            let health = try await api.call(.get, "/healthz")
            #expect(health.status == .ok && health.string("status") == "ok")
            let ready = try await api.call(.get, "/readyz")
            #expect(ready.status == .ok && ready.object("checks")["database"] as? String == "ok")
            let openAPI = try await api.call(.get, "/openapi.yaml")
            #expect(openAPI.status == .ok)
            #expect(openAPI.text.hasPrefix("openapi: 3.1"))
            for path in ["/v1/auth/register", "/v1/chats/{chat_id}/messages", "/.well-known/jwks.json", "/readyz"] {
                #expect(openAPI.text.contains("\(path):"), "\(path) missing from openapi.yaml")
            }
        }
    }

    @Test func everyResponseCarriesARequestID() async throws {
        try await withApp { api in
            let echoed = try await api.call(.get, "/healthz", headers: [HTTPField.Name("X-Request-Id")!: "trace-me-123"])
            #expect(echoed.headers[HTTPField.Name("X-Request-Id")!] == "trace-me-123")
            let generated = try await api.call(.get, "/v1/chats")
            #expect(generated.status == .unauthorized)
            #expect(generated.headers[HTTPField.Name("X-Request-Id")!]?.isEmpty == false)
            let hostile = try await api.call(.get, "/healthz", headers: [HTTPField.Name("X-Request-Id")!: String(repeating: "a", count: 300)])
            #expect(hostile.headers[HTTPField.Name("X-Request-Id")!]?.count == 36)
        }
    }

    @Test func unknownRoutesAndMethodsGetJSONErrors() async throws {
        try await withApp { api in
            let missing = try await api.call(.get, "/v2/nothing")
            #expect(missing.status == .notFound && missing.errorCode == "not_found")
            let wrongMethod = try await api.call(.put, "/v1/auth/login", json: [:])
            #expect(wrongMethod.status.code >= 400 && wrongMethod.status.code < 500 && wrongMethod.errorCode != nil)
        }
    }

    @Test func restartKeepsDataAndTokens() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("chatter-restart-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let state = try await Captured()
        try await withApp(dataDirectory: directory) { api in
            let alice = try await api.register("alice")
            let chatID = try await api.createGroup(alice.token, members: [])
            for index in 1...3 { _ = try await api.send(alice.token, chatID, "before restart \(index)") }
            await state.set(token: alice.token, refresh: alice.refresh, chatID: chatID)
        }
        try await withApp(dataDirectory: directory) { api in
            let (token, refresh, chatID) = await state.values
            #expect(try await api.call(.get, "/v1/users/me", token: token).string("username") == "alice")
            let history = try await api.call(.get, "/v1/chats/\(chatID)/messages", token: token)
            #expect(history.array("messages").compactMap { $0["seq"] as? Int } == [1, 2, 3])
            #expect(try await api.send(token, chatID, "after restart")["seq"] as? Int == 4)
            #expect(try await api.call(.post, "/v1/auth/refresh", json: ["refresh_token": refresh]).status == .ok)
        }
        let mode = try FileManager.default.attributesOfItem(atPath: directory + "/signing-keys.json")[.posixPermissions] as? NSNumber
        #expect(mode?.intValue == 0o600)
    }

    actor Captured {
        var values = ("", "", "")
        init() async throws {}
        func set(token: String, refresh: String, chatID: String) { values = (token, refresh, chatID) }
    }
}

@Suite struct MetricsEndpointTests {
    @Test func metricsCountRequestsByTemplateSendsAndRateLimits() async throws {
        let rules = FileManager.default.temporaryDirectory.appendingPathComponent("rules-\(UUID().uuidString).json").path
        try Data(#"{"rules":[{"name":"me","route":"/v1/users/me","methods":["GET"],"key":"user","capacity":1,"refill_per_second":0.001}]}"#.utf8)
            .write(to: URL(fileURLWithPath: rules))
        try await withApp(configure: { $0.rateLimitsFile = rules }) { api in
            let alice = try await api.register("alice")
            #expect(try await api.call(.get, "/v1/users/me", token: alice.token).status == .ok)
            #expect(try await api.call(.get, "/v1/users/me", token: alice.token).status == .tooManyRequests)
            let bob = try await api.register("bob")
            let chat = try await api.createGroup(alice.token, members: [bob.id])
            let sent = try await api.send(alice.token, chat, "hello")
            #expect(sent.status == .created)
            let replay = try await api.call(.get, "/v1/chats/\(chat)/messages", token: alice.token)
            #expect(replay.status == .ok)
            _ = try await api.call(.get, "/definitely/not/a/route")
            let metrics = try await api.call(.get, "/metrics")
            #expect(metrics.status == .ok)
            #expect(metrics.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
            let text = metrics.text
            #expect(text.contains(#"chatter_http_requests_total{method="POST",route="/v1/chats/{chat_id}/messages",status_class="2xx"} 1"#))
            #expect(text.contains(#"chatter_http_requests_total{method="GET",route="/v1/chats/{chat_id}/messages",status_class="2xx"} 1"#))
            #expect(text.contains(#"route="unmatched",status_class="4xx"} 1"#))
            #expect(text.contains(#"chatter_messages_sent_total{transport="http"} 1"#))
            #expect(text.contains(#"chatter_rate_limit_rejections_total{rule="me"} 1"#))
            #expect(text.contains(#"chatter_http_requests_total{method="GET",route="/v1/users/me",status_class="4xx"} 1"#))
            #expect(!text.contains(#"route="/metrics""#), "scrapes are not counted")
            // Raw ids never become label values.
            #expect(!text.contains(chat))
            #expect(text.contains("chatter_outbox_backlog_events"))
            #expect(text.contains(#"chatter_eventlog_consumer_lag_events{consumer="notification",topic="#))
        }
    }
}
