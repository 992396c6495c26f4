import ChatterCore
import Foundation
import Testing

@testable import Gateway

@Suite struct RateLimitPolicyTests {
    @Test(arguments: [
        ("/v1/auth/**", "/v1/auth/login", true),
        ("/v1/auth/**", "/v1/auth", true),
        ("/v1/auth/**", "/v1/authx/login", false),
        ("/v1/chats/*/messages", "/v1/chats/abc/messages", true),
        ("/v1/chats/*/messages", "/v1/chats/abc/messages/1", false),
        ("/v1/chats/*/messages", "/v1/chats//messages", false),
        ("/v1/users/me", "/v1/users/me/", true),
        ("/v1/users/me", "/v1/users", false),
    ])
    func routePatterns(pattern: String, path: String, matches: Bool) {
        #expect(RoutePattern.matches(pattern, path: path) == matches)
    }

    @Test func methodsNarrowARule() {
        let rule = RateLimitPolicy.Rule(name: "r", route: "/v1/**", methods: ["POST"], key: .user, capacity: 1, refillPerSecond: 1)
        #expect(rule.matches(method: "POST", path: "/v1/chats"))
        #expect(!rule.matches(method: "GET", path: "/v1/chats"))
    }

    @Test func decodesSnakeCaseAndRoundTrips() throws {
        let json = #"{"rules":[{"name":"a","route":"/v1/**","key":"user_ip","capacity":5,"refill_per_second":0.5}]}"#
        let policy = try RateLimitPolicy.decode(Data(json.utf8))
        #expect(policy.rules == [RateLimitPolicy.Rule(name: "a", route: "/v1/**", key: .userIP, capacity: 5, refillPerSecond: 0.5)])
        #expect(try RateLimitPolicy.decode(policy.encoded()) == policy)
        #expect(try RateLimitPolicy.decode(RateLimitPolicy.defaults.encoded()) == .defaults)
    }

    @Test(arguments: [
        #"{"rules":[{"name":"a","route":"/v1/**","key":"user","capacity":0,"refill_per_second":1}]}"#,
        #"{"rules":[{"name":"a","route":"/v1/**","key":"user","capacity":1,"refill_per_second":0}]}"#,
        #"{"rules":[{"name":"a","route":"v1","key":"user","capacity":1,"refill_per_second":1}]}"#,
        #"{"rules":[{"name":"a","route":"/v1/**/x","key":"user","capacity":1,"refill_per_second":1}]}"#,
        #"{"rules":[{"name":"a","route":"/v1/a*","key":"user","capacity":1,"refill_per_second":1}]}"#,
        #"{"rules":[{"name":"a","route":"/v1","key":"someone","capacity":1,"refill_per_second":1}]}"#,
        #"{"rules":[{"name":"a","route":"/v1","methods":["FETCH"],"key":"user","capacity":1,"refill_per_second":1}]}"#,
        #"{"rules":[{"name":"a b","route":"/v1","key":"user","capacity":1,"refill_per_second":1}]}"#,
        #"{"rules":[{"name":"a","route":"/v1","key":"user","capacity":1,"refill_per_second":1},{"name":"a","route":"/v2","key":"ip","capacity":1,"refill_per_second":1}]}"#,
        #"{"rules":{}}"#,
        #"[]"#,
    ])
    func invalidPoliciesAreRefusedWithA422(json: String) {
        #expect(throws: ChatterError.self) { try RateLimitPolicy.decode(Data(json.utf8)) }
        do {
            _ = try RateLimitPolicy.decode(Data(json.utf8))
        } catch let error as ChatterError {
            #expect(error.code == .validationFailed)
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func theTightestDecisionIsReported() {
        let roomy = RateLimitDecision(allowed: true, remaining: 9, retryAfterMilliseconds: 0, resetAfterMilliseconds: 100)
        let tight = RateLimitDecision(allowed: true, remaining: 1, retryAfterMilliseconds: 0, resetAfterMilliseconds: 900)
        let refused = RateLimitDecision(allowed: false, remaining: 0, retryAfterMilliseconds: 500, resetAfterMilliseconds: 5000)
        #expect(RateLimitMiddleware.isTighter(tight, than: roomy))
        #expect(!RateLimitMiddleware.isTighter(roomy, than: tight))
        #expect(RateLimitMiddleware.isTighter(refused, than: tight))
        #expect(!RateLimitMiddleware.isTighter(tight, than: refused))
        #expect(RateLimitMiddleware.isTighter(roomy, than: nil))
    }
}
