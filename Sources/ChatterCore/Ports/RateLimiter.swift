/// A token bucket: `capacity` tokens, refilled continuously at `refillPerSecond`. A request
/// takes one token or is refused.
public struct RateLimitRule: Sendable, Hashable {
    public var capacity: Int
    public var refillPerSecond: Double

    public init(capacity: Int, refillPerSecond: Double) {
        self.capacity = max(1, capacity)
        self.refillPerSecond = max(0.000_001, refillPerSecond)
    }
}

/// The outcome of one `take`, with what the `RateLimit-*` and `Retry-After` headers need.
public struct RateLimitDecision: Sendable, Hashable {
    public var allowed: Bool
    /// Whole tokens left after this request.
    public var remaining: Int
    /// Until a refused request could succeed (zero when allowed).
    public var retryAfterMilliseconds: Int64
    /// Until the bucket is full again.
    public var resetAfterMilliseconds: Int64

    public init(allowed: Bool, remaining: Int, retryAfterMilliseconds: Int64, resetAfterMilliseconds: Int64) {
        self.allowed = allowed
        self.remaining = remaining
        self.retryAfterMilliseconds = retryAfterMilliseconds
        self.resetAfterMilliseconds = resetAfterMilliseconds
    }
}

/// Token buckets keyed by anything (route + user, route + IP). In memory for one process; in
/// Redis (one atomic script per take) when several gateways must share one budget.
public protocol RateLimiter: Sendable {
    func take(key: String, rule: RateLimitRule) async throws -> RateLimitDecision
}

/// The bucket arithmetic both implementations follow (the Redis script mirrors it in Lua).
public struct TokenBucket: Sendable, Hashable {
    public var tokens: Double
    public var updatedAtMilliseconds: Int64

    public init(tokens: Double, updatedAtMilliseconds: Int64) {
        self.tokens = tokens
        self.updatedAtMilliseconds = updatedAtMilliseconds
    }

    /// Refills for the time since the last update, then takes one token if there is one.
    public mutating func take(rule: RateLimitRule, nowMilliseconds now: Int64) -> RateLimitDecision {
        let elapsed = Double(max(0, now - updatedAtMilliseconds)) / 1000
        tokens = min(Double(rule.capacity), tokens + elapsed * rule.refillPerSecond)
        updatedAtMilliseconds = max(updatedAtMilliseconds, now)
        let allowed = tokens >= 1
        if allowed { tokens -= 1 }
        let retry = allowed ? 0 : Int64(((1 - tokens) / rule.refillPerSecond * 1000).rounded(.up))
        let reset = Int64(((Double(rule.capacity) - tokens) / rule.refillPerSecond * 1000).rounded(.up))
        return RateLimitDecision(allowed: allowed, remaining: Int(tokens.rounded(.down)),
                                 retryAfterMilliseconds: retry, resetAfterMilliseconds: reset)
    }
}
