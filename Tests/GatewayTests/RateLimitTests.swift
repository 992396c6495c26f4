import ChatterCore
import Foundation
import HTTPTypes
import Testing

@testable import Gateway

/// Rate limits through the real router: the 429 and its headers, the per-account login cap, and
/// rules replaced through the admin API (one process; the shared-budget and cross-gateway
/// cases run end to end in tests/e2e/test_rate_limits.py).
@Suite struct RateLimitTests {
    static let adminToken = "admin-token-for-tests-0123456789"

    /// Writes `json` to a temporary rules file for `CHATTER_RATE_LIMITS_FILE`.
    func rulesFile(_ json: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("rules-\(UUID().uuidString).json").path
        try Data(json.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func aBurstAboveTheRuleGets429WithHeaders() async throws {
        let file = try rulesFile(#"{"rules":[{"name":"me","route":"/v1/users/me","methods":["GET"],"key":"user","capacity":3,"refill_per_second":0.001}]}"#)
        try await withApp(configure: { $0.rateLimitsFile = file }) { api in
            let alice = try await api.register("alice")
            var remaining: [String?] = []
            for _ in 0..<3 {
                let ok = try await api.call(.get, "/v1/users/me", token: alice.token)
                #expect(ok.status == .ok)
                #expect(ok.headers[HTTPField.Name("RateLimit-Limit")!] == "3")
                remaining.append(ok.headers[HTTPField.Name("RateLimit-Remaining")!])
            }
            #expect(remaining == ["2", "1", "0"])
            let refused = try await api.call(.get, "/v1/users/me", token: alice.token)
            #expect(refused.status == .tooManyRequests && refused.errorCode == "rate_limited")
            #expect(Int(refused.headers[.retryAfter] ?? "") ?? 0 >= 1)
            #expect(refused.headers[HTTPField.Name("RateLimit-Remaining")!] == "0")
            #expect(Int(refused.headers[HTTPField.Name("RateLimit-Reset")!] ?? "") ?? 0 >= 1)
            // Another user has a budget of their own; other routes are not limited by this rule.
            let bob = try await api.register("bob")
            #expect(try await api.call(.get, "/v1/users/me", token: bob.token).status == .ok)
            #expect(try await api.call(.get, "/v1/chats", token: alice.token).status == .ok)
        }
    }

    @Test func loginGuessingIsCappedPerAccountAndTheBodyStillReachesTheRoute() async throws {
        let file = try rulesFile(#"{"rules":[{"name":"login","route":"/v1/auth/login","methods":["POST"],"key":"account","capacity":2,"refill_per_second":0.001}]}"#)
        try await withApp(configure: { $0.rateLimitsFile = file }) { api in
            _ = try await api.register("carol", password: "right password")
            let wrong = try await api.call(.post, "/v1/auth/login", json: ["username": "carol", "password": "wrong guess"])
            #expect(wrong.status == .unauthorized)
            let right = try await api.call(.post, "/v1/auth/login", json: ["username": "Carol", "password": "right password"])
            #expect(right.status == .ok, "the route still reads the body: \(right.text)")
            let capped = try await api.call(.post, "/v1/auth/login", json: ["username": "carol", "password": "right password"])
            #expect(capped.status == .tooManyRequests, "the account's budget is spent, whatever the case of the name")
            // Another account is not affected.
            _ = try await api.register("dave", password: "right password")
            #expect(try await api.call(.post, "/v1/auth/login", json: ["username": "dave", "password": "right password"]).status == .ok)
        }
    }

    @Test func theAdminAPIIsClosedWithoutAToken() async throws {
        try await withApp { api in
            let closed = try await api.call(.get, "/admin/v1/rate-limits", token: Self.adminToken)
            #expect(closed.status == .forbidden && closed.errorCode == "forbidden")
        }
    }

    @Test func rulesChangeAtRunTimeThroughTheAdminAPI() async throws {
        try await withApp(configure: { $0.adminToken = Self.adminToken }) { api in
            let user = try await api.register("erin")
            #expect(try await api.call(.get, "/admin/v1/rate-limits").status == .unauthorized)
            #expect(try await api.call(.get, "/admin/v1/rate-limits", token: user.token).status == .unauthorized, "a user token is not an admin token")
            let current = try await api.call(.get, "/admin/v1/rate-limits", token: Self.adminToken)
            #expect(current.status == .ok)
            #expect((current["rules"] as? [[String: Any]])?.map { $0["name"] as? String } == RateLimitPolicy.defaults.rules.map(\.name))

            let invalid = try await api.call(.put, "/admin/v1/rate-limits", token: Self.adminToken,
                                             json: ["rules": [["name": "x", "route": "/v1/**", "key": "user", "capacity": 0, "refill_per_second": 1]]])
            #expect(invalid.status == .unprocessableContent && invalid.errorCode == "validation_failed")
            let malformed = try await api.call(.put, "/admin/v1/rate-limits", token: Self.adminToken, rawBody: "{nope")
            #expect(malformed.status == .badRequest)
            #expect(try await api.call(.get, "/v1/chats", token: user.token).status == .ok, "a refused change changes nothing")

            let strict: [String: Any] = ["rules": [["name": "chats", "route": "/v1/chats", "methods": ["GET"], "key": "user", "capacity": 1, "refill_per_second": 0.001]]]
            let put = try await api.call(.put, "/admin/v1/rate-limits", token: Self.adminToken, json: strict)
            #expect(put.status == .ok && (put["rules"] as? [[String: Any]])?.first?["name"] as? String == "chats")
            #expect(try await api.call(.get, "/v1/chats", token: user.token).status == .ok)
            #expect(try await api.call(.get, "/v1/chats", token: user.token).status == .tooManyRequests, "the new rule applies at once")
            #expect(try await api.call(.put, "/admin/v1/rate-limits", token: Self.adminToken, json: ["rules": [] as [Any]]).status == .ok)
            #expect(try await api.call(.get, "/v1/chats", token: user.token).status == .ok, "no rules, no limits")
        }
    }
}
