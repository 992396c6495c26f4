import ChatterCore
import Testing

@testable import AuthService

/// Reusing a token's first verification: the clock is still checked on every use, and nothing
/// verified by one key set is trusted by another.
@Suite struct VerifiedTokenCacheTests {
    static let key = SigningKeyMaterial(algorithm: "EdDSA", keyID: "k1", privateKey: Identifier.randomBytes(32), createdAt: .now())
    let tokens = try! AccessTokens(keys: [Self.key], issuer: "chatter", audience: "chatter-api", lifetimeSeconds: 900)

    @Test func aTokenCheckedBeforeIsRefusedOnceItExpires() throws {
        let now = Timestamp.now()
        let (token, issued) = try tokens.issue(userID: "u1", sessionID: "s1", now: now)
        #expect(try tokens.verify(token, now: now) == issued)
        #expect(try tokens.verify(token, now: now.adding(seconds: 600)) == issued)
        #expect(throws: ChatterError.self) { try tokens.verify(token, now: now.adding(seconds: 900 + AccessTokens.leeway)) }
        // And before it is valid, even after it was verified at a later time.
        #expect(throws: ChatterError.self) { try tokens.verify(token, now: now.adding(seconds: -(AccessTokens.leeway + 1))) }
    }

    @Test func onlyTheExactTextThatWasVerifiedIsReused() throws {
        let (token, _) = try tokens.issue(userID: "u1", sessionID: "s1")
        _ = try tokens.verify(token)
        var tampered = Array(token.utf8)
        tampered[tampered.count - 2] = tampered[tampered.count - 2] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        #expect(throws: ChatterError.self) { try tokens.verify(String(decoding: tampered, as: UTF8.self)) }
        #expect(throws: ChatterError.self) { try tokens.verify(token + "x") }
    }

    @Test func aVerifierWithOtherKeysDoesNotTrustWhatAnotherVerified() throws {
        let (token, _) = try tokens.issue(userID: "u1", sessionID: "s1")
        _ = try tokens.verify(token)
        let impostor = SigningKeyMaterial(algorithm: "EdDSA", keyID: "k1", privateKey: Identifier.randomBytes(32), createdAt: .now())
        let other = try AccessTokens(keys: [impostor], issuer: "chatter", audience: "chatter-api", lifetimeSeconds: 900)
        #expect(throws: ChatterError.self) { try other.verify(token) }
    }

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
