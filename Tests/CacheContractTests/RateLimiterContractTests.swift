import ChatterCore
import Foundation
import Logging
import RedisCache
import RedisClient
import Testing

/// A rate limiter under test: `body` gets two handles that must share one budget (two gateways).
struct RateLimiterBackend: Sendable, CustomTestStringConvertible {
    var name: String
    var run: @Sendable (@Sendable (any RateLimiter, any RateLimiter) async throws -> Void) async throws -> Void
    var testDescription: String { name }

    static let memory = RateLimiterBackend(name: "memory") { body in
        let limiter = InMemoryRateLimiter()
        try await body(limiter, limiter)
    }

    static let redis = RateLimiterBackend(name: "redis") { body in
        let prefix = "chatter-test:\(UUID().uuidString):"
        try await withTestRedis { first in
            try await withTestRedis { second in
                try await body(RedisRateLimiter(redis: first, prefix: prefix), RedisRateLimiter(redis: second, prefix: prefix))
            }
        }
    }

    static var all: [RateLimiterBackend] { RevocationBackend.redisEnabled ? [.memory, .redis] : [.memory] }
}

@Suite struct RateLimiterContract {
    @Test(arguments: RateLimiterBackend.all)
    func aBurstAboveCapacityIsRefusedWithWhenToRetry(_ backend: RateLimiterBackend) async throws {
        try await backend.run { limiter, _ in
            // A token per 10 s: a loaded machine (CI once took over a second between two takes)
            // cannot refill one during the burst.
            let rule = RateLimitRule(capacity: 3, refillPerSecond: 0.1)
            var decisions: [RateLimitDecision] = []
            for _ in 0..<4 { decisions.append(try await limiter.take(key: "burst", rule: rule)) }
            #expect(decisions.map(\.allowed) == [true, true, true, false])
            #expect(decisions.map(\.remaining) == [2, 1, 0, 0])
            let refused = decisions[3]
            #expect(refused.retryAfterMilliseconds > 0 && refused.retryAfterMilliseconds <= 10_000)
            #expect(refused.resetAfterMilliseconds > 20_000 && refused.resetAfterMilliseconds <= 30_000)
            #expect(try await limiter.take(key: "another", rule: rule).allowed, "keys are independent")
        }
    }

    @Test(arguments: RateLimiterBackend.all)
    func twoGatewaysShareOneBudget(_ backend: RateLimiterBackend) async throws {
        try await backend.run { first, second in
            let rule = RateLimitRule(capacity: 20, refillPerSecond: 0.001)
            let allowed = try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<50 {
                    let limiter = index.isMultiple(of: 2) ? first : second
                    group.addTask { try await limiter.take(key: "shared", rule: rule).allowed }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(allowed == 20, "exactly the capacity, however the takes interleave")
        }
    }

    @Test(arguments: RateLimiterBackend.all)
    func tokensComeBackOverTime(_ backend: RateLimiterBackend) async throws {
        try await backend.run { limiter, _ in
            // One token every 4 s: slow enough that the refusal holds on a loaded machine.
            let rule = RateLimitRule(capacity: 1, refillPerSecond: 0.25)
            #expect(try await limiter.take(key: "refill", rule: rule).allowed)
            let refused = try await limiter.take(key: "refill", rule: rule)
            #expect(!refused.allowed)
            try await Task.sleep(for: .milliseconds(Int(refused.retryAfterMilliseconds) + 100))
            #expect(try await limiter.take(key: "refill", rule: rule).allowed)
        }
    }
}

@Suite struct InMemoryRateLimiterBounds {
    @Test func aFloodOfKeysDoesNotGrowWithoutBound() async throws {
        let limiter = InMemoryRateLimiter(maximumKeys: 100)
        let rule = RateLimitRule(capacity: 5, refillPerSecond: 1)
        for index in 0..<1000 { _ = try await limiter.take(key: "k\(index)", rule: rule) }
        // Still works, and a key in use keeps being limited.
        for _ in 0..<5 { _ = try await limiter.take(key: "hot", rule: rule) }
        #expect(try await !limiter.take(key: "hot", rule: rule).allowed)
    }

    @Test func bucketArithmetic() {
        var bucket = TokenBucket(tokens: 0, updatedAtMilliseconds: 1000)
        let rule = RateLimitRule(capacity: 2, refillPerSecond: 2)
        let early = bucket.take(rule: rule, nowMilliseconds: 1250)  // 0.5 token
        #expect(!early.allowed && early.retryAfterMilliseconds == 250)
        let later = bucket.take(rule: rule, nowMilliseconds: 1500)  // 1 token
        #expect(later.allowed && later.remaining == 0)
        _ = bucket.take(rule: rule, nowMilliseconds: 900)  // a clock step back refills nothing
        #expect(bucket.updatedAtMilliseconds == 1500)
    }
}
