import Synchronization

/// Token buckets of one process. Full buckets carry no information, so when the table grows
/// past `maximumKeys` the ones that have refilled are dropped (judged, approximately, with the
/// rule of the request that found the table full); if that is not enough it starts over.
/// Memory stays bounded under a flood of distinct keys.
public final class InMemoryRateLimiter: RateLimiter {
    private let buckets = Mutex<[String: TokenBucket]>([:])
    private let clock: @Sendable () -> Int64
    public let maximumKeys: Int

    public init(maximumKeys: Int = 100_000, clock: @escaping @Sendable () -> Int64 = { Timestamp.now().millisecondsSinceEpoch }) {
        self.maximumKeys = max(1, maximumKeys)
        self.clock = clock
    }

    public func take(key: String, rule: RateLimitRule) async throws -> RateLimitDecision {
        let now = clock()
        return buckets.withLock { buckets in
            if buckets[key] == nil, buckets.count >= maximumKeys {
                buckets = buckets.filter { _, bucket in
                    var copy = bucket
                    _ = copy.take(rule: rule, nowMilliseconds: now)
                    return copy.tokens + 1 < Double(rule.capacity)  // keep the ones still below full
                }
                if buckets.count >= maximumKeys { buckets.removeAll(keepingCapacity: true) }
            }
            var bucket = buckets[key] ?? TokenBucket(tokens: Double(rule.capacity), updatedAtMilliseconds: now)
            let decision = bucket.take(rule: rule, nowMilliseconds: now)
            buckets[key] = bucket
            return decision
        }
    }
}
