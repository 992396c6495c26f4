import ChatterCore
import Crypto
import Foundation
import Testing

@testable import AuthService

@Suite struct AccessTokenTests {
    static let key = SigningKeyMaterial(algorithm: "EdDSA", keyID: "k1", privateKey: Identifier.randomBytes(32), createdAt: .now())
    let tokens = try! AccessTokens(keys: [Self.key], issuer: "chatter", audience: "chatter-api", lifetimeSeconds: 900)

    @Test func issuedTokensVerifyWithAllClaims() throws {
        let now = Timestamp.now()
        let (token, issued) = try tokens.issue(userID: "u1", sessionID: "s1", now: now)
        let claims = try tokens.verify(token, now: now)
        #expect(claims == issued)
        #expect(claims.subject == "u1")
        #expect(claims.sessionID == "s1")
        #expect(claims.issuer == "chatter")
        #expect(claims.audience == ["chatter-api"])
        #expect(claims.expiresAt == now.secondsSinceEpoch + 900)
        #expect(claims.issuedAt == now.secondsSinceEpoch)
        #expect(!claims.tokenID.isEmpty)
        let header = try decodeJSON(token.split(separator: ".")[0])
        #expect(header["alg"] as? String == "EdDSA")
        #expect(header["kid"] as? String == "k1")
    }

    @Test func expiredTokensAreRejected() throws {
        let issuedAt = Timestamp.now().adding(seconds: -2000)
        let (token, _) = try tokens.issue(userID: "u1", sessionID: "s1", now: issuedAt)
        expectRejected(token)
        // Still valid just before expiry.
        #expect(throws: Never.self) { try tokens.verify(token, now: issuedAt.adding(seconds: 899)) }
    }

    @Test func wrongAudienceOrIssuerIsRejected() throws {
        let other = try AccessTokens(keys: [Self.key], issuer: "chatter", audience: "someone-else", lifetimeSeconds: 900)
        expectRejected(try other.issue(userID: "u1", sessionID: "s1").token)
        let otherIssuer = try AccessTokens(keys: [Self.key], issuer: "evil", audience: "chatter-api", lifetimeSeconds: 900)
        expectRejected(try otherIssuer.issue(userID: "u1", sessionID: "s1").token)
    }

    @Test func algNoneIsRejected() throws {
        let (token, _) = try tokens.issue(userID: "u1", sessionID: "s1")
        let parts = token.split(separator: ".").map(String.init)
        let header = Base64URL.encode(Array(#"{"alg":"none","kid":"k1","typ":"JWT"}"#.utf8))
        expectRejected(header + "." + parts[1] + ".")
        expectRejected(header + "." + parts[1] + "." + parts[2])
    }

    @Test func hmacSignedWithThePublicKeyIsRejected() throws {
        let (token, _) = try tokens.issue(userID: "u1", sessionID: "s1")
        let payload = token.split(separator: ".")[1]
        let publicKey = try Curve25519.Signing.PrivateKey(rawRepresentation: Self.key.privateKey).publicKey.rawRepresentation
        for secret in [publicKey, Data("secret".utf8), Data()] {
            let header = Base64URL.encode(Array(#"{"alg":"HS256","kid":"k1","typ":"JWT"}"#.utf8))
            let input = header + "." + payload
            let mac = HMAC<SHA256>.authenticationCode(for: Data(input.utf8), using: SymmetricKey(data: secret))
            expectRejected(input + "." + Base64URL.encode(Array(mac)))
        }
    }

    @Test func tamperedPayloadOrSignatureIsRejected() throws {
        let (token, _) = try tokens.issue(userID: "u1", sessionID: "s1")
        let parts = token.split(separator: ".").map(String.init)
        var claims = try decodeJSON(parts[1])
        claims["sub"] = "admin"
        let forgedPayload = Base64URL.encode(Array(try JSONSerialization.data(withJSONObject: claims)))
        expectRejected(parts[0] + "." + forgedPayload + "." + parts[2])
        var signature = Base64URL.decode(parts[2])!
        signature[10] ^= 0x01
        expectRejected(parts[0] + "." + parts[1] + "." + Base64URL.encode(signature))
        expectRejected(parts[0] + "." + parts[1])
        expectRejected("not a token")
        expectRejected("")
    }

    @Test func tokensFromAnotherKeyWithTheSameKidAreRejected() throws {
        let impostor = SigningKeyMaterial(algorithm: "EdDSA", keyID: "k1", privateKey: Identifier.randomBytes(32), createdAt: .now())
        let other = try AccessTokens(keys: [impostor], issuer: "chatter", audience: "chatter-api", lifetimeSeconds: 900)
        expectRejected(try other.issue(userID: "u1", sessionID: "s1").token)
    }

    @Test func olderKeysStillVerifyAfterRotation() throws {
        let newer = SigningKeyMaterial(algorithm: "EdDSA", keyID: "k2", privateKey: Identifier.randomBytes(32), createdAt: .now())
        let rotated = try AccessTokens(keys: [newer, Self.key], issuer: "chatter", audience: "chatter-api", lifetimeSeconds: 900)
        let (oldToken, _) = try tokens.issue(userID: "u1", sessionID: "s1")
        #expect(try rotated.verify(oldToken).subject == "u1")
        let (newToken, _) = try rotated.issue(userID: "u2", sessionID: "s2")
        #expect(try decodeJSON(newToken.split(separator: ".")[0])["kid"] as? String == "k2")
        expectRejected(newToken)  // the old key set does not know k2
        #expect(rotated.jwks.keys.map(\.kid).sorted() == ["k1", "k2"])
    }

    @Test func jwksPublishesTheVerifyingKey() throws {
        let jwk = try #require(tokens.jwks.keys.first)
        #expect(jwk.kty == "OKP" && jwk.crv == "Ed25519" && jwk.alg == "EdDSA" && jwk.kid == "k1")
        let publicKey = try Curve25519.Signing.PublicKey(rawRepresentation: try #require(Base64URL.decode(jwk.x)))
        let (token, _) = try tokens.issue(userID: "u1", sessionID: "s1")
        let parts = token.split(separator: ".")
        #expect(publicKey.isValidSignature(Base64URL.decode(parts[2])!, for: Data("\(parts[0]).\(parts[1])".utf8)))
    }

    // A verified token is reused by its exact text: the clock is still checked on every use,
    // and nothing verified by one key set is trusted by another.

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

    private func expectRejected(_ token: String, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try tokens.verify(token)
            Issue.record("token was accepted", sourceLocation: sourceLocation)
        } catch let error as ChatterError {
            #expect(error.code == .unauthorized, sourceLocation: sourceLocation)
        } catch {
            Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
        }
    }

    private func decodeJSON(_ part: some StringProtocol) throws -> [String: Any] {
        let bytes = try #require(Base64URL.decode(part))
        return try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
    }
}
