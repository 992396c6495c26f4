import ChatterCore
import Testing

@testable import AuthService

/// The cache behind token reuse; what reuse means for verification is in `AccessTokenTests`.
@Suite struct VerifiedTokenCacheTests {
    @Test func aFullCacheDropsExpiredTokensFirstThenStartsOver() throws {
        let cache = VerifiedTokenCache(capacity: 3)
        let now = Timestamp.now()
        func claims(expiringIn seconds: Int64) -> AccessTokenClaims {
            AccessTokenClaims(issuer: "i", audience: ["a"], subject: "u", expiresAt: now.secondsSinceEpoch + seconds,
                              issuedAt: now.secondsSinceEpoch, tokenID: "t", sessionID: "s")
        }
        cache.insert(claims(expiringIn: -3600), for: "old", now: now)
        cache.insert(claims(expiringIn: 600), for: "a", now: now)
        cache.insert(claims(expiringIn: 600), for: "b", now: now)
        cache.insert(claims(expiringIn: 600), for: "c", now: now)
        #expect(cache.claims(for: "old") == nil)
        #expect(cache.count == 3)
        cache.insert(claims(expiringIn: 600), for: "d", now: now)
        #expect(cache.count == 1)
        #expect(cache.claims(for: "d") != nil)
    }
}
