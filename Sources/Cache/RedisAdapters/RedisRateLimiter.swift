import ChatterCore
import RedisClient

/// Token buckets in Redis, shared by every gateway: one atomic Lua script per take (the same
/// arithmetic as `TokenBucket`), timed by Redis' own clock so gateways with skewed clocks
/// still share one budget. A bucket's key expires once it would be full again.
public struct RedisRateLimiter: RateLimiter {
    let redis: RedisClient
    let prefix: String

    public init(redis: RedisClient, prefix: String = "chatter:ratelimit:") {
        self.redis = redis
        self.prefix = prefix
    }

    /// KEYS[1] bucket; ARGV capacity, refill per second. Returns {allowed, remaining,
    /// retry ms, reset ms}.
    static let script = RedisScript("""
        local capacity = tonumber(ARGV[1])
        local rate = tonumber(ARGV[2])
        local time = redis.call('TIME')
        local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
        local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
        local tokens = tonumber(state[1]) or capacity
        local at = tonumber(state[2]) or now
        local elapsed = math.max(0, now - at) / 1000
        tokens = math.min(capacity, tokens + elapsed * rate)
        local allowed = 0
        if tokens >= 1 then
          tokens = tokens - 1
          allowed = 1
        end
        local retry = 0
        if allowed == 0 then retry = math.ceil((1 - tokens) / rate * 1000) end
        local reset = math.ceil((capacity - tokens) / rate * 1000)
        redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(math.max(at, now)))
        redis.call('PEXPIRE', KEYS[1], math.max(1, reset))
        return {allowed, math.floor(tokens), retry, reset}
        """)

    public func take(key: String, rule: RateLimitRule) async throws -> RateLimitDecision {
        let reply: RESPValue
        do {
            reply = try await redis.evalScript(
                Self.script, keys: [prefix + key], args: [String(rule.capacity), String(rule.refillPerSecond)])
        } catch let error as RedisError {
            throw ChatterError.unavailable("the rate limiter", detail: "\(error)")
        }
        guard case .array(let values?) = reply, values.count == 4,
              case .integer(let allowed) = values[0], case .integer(let remaining) = values[1],
              case .integer(let retry) = values[2], case .integer(let reset) = values[3]
        else {
            throw ChatterError(.internalError, "unexpected rate limiter reply", detail: "\(reply)")
        }
        return RateLimitDecision(allowed: allowed == 1, remaining: Int(remaining), retryAfterMilliseconds: retry,
                                 resetAfterMilliseconds: reset)
    }
}
