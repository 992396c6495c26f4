import AuthService
import ChatterCore
import ChatterHTTP
import Foundation
import Synchronization
import Testing

/// Token checks in roles that only see auth's published keys.
@Suite struct JWKSAuthenticatorTests {
    static func key(_ id: String) -> SigningKeyMaterial {
        SigningKeyMaterial(algorithm: "EdDSA", keyID: id, privateKey: Identifier.randomBytes(32), createdAt: .now())
    }

    /// A JWKS source that counts fetches and can be switched to another key set or to failing.
    final class Source: Sendable {
        let state: Mutex<(jwks: JWKS, fetches: Int, failing: Bool)>
        init(_ jwks: JWKS) { state = Mutex((jwks, 0, false)) }
        var fetches: Int { state.withLock { $0.fetches } }
        func set(_ jwks: JWKS) { state.withLock { $0.jwks = jwks } }
        func fail(_ failing: Bool) { state.withLock { $0.failing = failing } }
        func fetch() throws -> JWKS {
            try state.withLock { state in
                state.fetches += 1
                if state.failing { throw ChatterError.unavailable("auth") }
                return state.jwks
            }
        }
    }

    func tokens(_ keys: [SigningKeyMaterial]) throws -> AccessTokens {
        try AccessTokens(keys: keys, issuer: "chatter", audience: "chatter-api", lifetimeSeconds: 900)
    }

    func authenticator(_ source: Source, revocations: any RevocationList = InMemoryRevocationList(), refetch: Duration = .seconds(60))
        -> JWKSAuthenticator
    {
        JWKSAuthenticator(issuer: "chatter", audience: "chatter-api", revocations: revocations, refetchInterval: refetch, fetch: { try source.fetch() })
    }

    @Test func verifiesWithPublishedKeysAndFetchesOnce() async throws {
        let issuer = try tokens([Self.key("k1")])
        let source = Source(issuer.jwks)
        let checker = authenticator(source)
        for index in 0..<3 {
            let (token, _) = try issuer.issue(userID: "u\(index)", sessionID: "s\(index)")
            let identity = try await checker.authenticate(bearer: token)
            #expect(identity.userID == "u\(index)")
            #expect(identity.sessionID == "s\(index)")
        }
        #expect(source.fetches == 1)
    }

    @Test func aRotatedKeyIsFetchedWhenATokenNamesIt() async throws {
        let old = Self.key("old")
        let source = Source(try tokens([old]).jwks)
        let checker = authenticator(source, refetch: .zero)
        _ = try await checker.authenticate(bearer: try tokens([old]).issue(userID: "u", sessionID: "s").token)
        // Auth rotates: the new key signs, both verify.
        let rotated = try tokens([Self.key("new"), old])
        source.set(rotated.jwks)
        let identity = try await checker.authenticate(bearer: try rotated.issue(userID: "u2", sessionID: "s2").token)
        #expect(identity.userID == "u2")
        #expect(source.fetches == 2)
    }

    @Test func unknownKeyIdsCannotFloodAuth() async throws {
        let issuer = try tokens([Self.key("k1")])
        let source = Source(issuer.jwks)
        let checker = authenticator(source, refetch: .seconds(60))
        _ = try await checker.authenticate(bearer: try issuer.issue(userID: "u", sessionID: "s").token)
        let stranger = try tokens([Self.key("made-up")])
        for _ in 0..<20 {
            let error = await #expect(throws: ChatterError.self) {
                try await checker.authenticate(bearer: try stranger.issue(userID: "u", sessionID: "s").token)
            }
            #expect(error?.code == .unauthorized)
        }
        #expect(source.fetches == 1)
    }

    @Test func forgedAndRevokedTokensAreRefused() async throws {
        let issuer = try tokens([Self.key("k1")])
        let revocations = InMemoryRevocationList()
        let checker = authenticator(Source(issuer.jwks), revocations: revocations)
        // Same kid, another private key: the signature does not match the published key.
        let forger = try tokens([Self.key("k1")])
        let forged = await #expect(throws: ChatterError.self) {
            try await checker.authenticate(bearer: try forger.issue(userID: "admin", sessionID: "s").token)
        }
        #expect(forged?.code == .unauthorized)
        let (token, _) = try issuer.issue(userID: "u", sessionID: "gone")
        try await revocations.revoke(sessionID: "gone", until: Timestamp.now().adding(seconds: 900))
        let revoked = await #expect(throws: ChatterError.self) { try await checker.authenticate(bearer: token) }
        #expect(revoked?.code == .unauthorized)
    }

    @Test func authUnreachableWithoutKeysIsUnavailableAndKeysInHandKeepWorking() async throws {
        let issuer = try tokens([Self.key("k1")])
        let source = Source(issuer.jwks)
        source.fail(true)
        let checker = authenticator(source, refetch: .zero)
        let (token, _) = try issuer.issue(userID: "u", sessionID: "s")
        let error = await #expect(throws: ChatterError.self) { try await checker.authenticate(bearer: token) }
        #expect(error?.code == .unavailable)
        source.fail(false)
        #expect(try await checker.authenticate(bearer: token).userID == "u")
        // Auth goes away again: the keys already fetched still verify.
        source.fail(true)
        #expect(try await checker.authenticate(bearer: token).userID == "u")
    }

    @Test func keysOfOtherAlgorithmsInTheSetAreIgnored() throws {
        let issuer = try tokens([Self.key("k1")])
        var jwks = issuer.jwks
        jwks.keys[0].alg = "HS256"
        let verifier = AccessTokenVerifier(jwks: jwks, issuer: "chatter", audience: "chatter-api")
        #expect(verifier.keyIDs.isEmpty)
        #expect(AccessTokenVerifier.keyID(of: try issuer.issue(userID: "u", sessionID: "s").token) == "k1")
        #expect(AccessTokenVerifier.keyID(of: "garbage") == nil)
    }
}
