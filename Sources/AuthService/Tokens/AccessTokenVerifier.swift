import ChatterCore
import Crypto
import Foundation

/// Checks an access token against public keys only, so roles other than auth (which never see
/// a private key) verify tokens with the keys auth publishes in its JWKS.
///
/// Exactly one algorithm is accepted. The header's `alg` is checked before any key is touched,
/// so `none`, HMAC-with-the-public-key and other downgrade tricks fail up front, and the key is
/// chosen by `kid` among the keys given here.
public struct AccessTokenVerifier: Sendable {
    let keys: [String: Curve25519.Signing.PublicKey]
    let issuer: String
    let audience: String
    /// Shared by copies of this verifier; a verifier with other keys gets its own.
    let verified = VerifiedTokenCache()

    init(keys: [String: Curve25519.Signing.PublicKey], issuer: String, audience: String) {
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
    }

    /// The usable keys of a JWKS (Ed25519 signing keys); others are ignored, as RFC 7517 asks.
    public init(jwks: JWKS, issuer: String, audience: String) {
        var keys: [String: Curve25519.Signing.PublicKey] = [:]
        for key in jwks.keys where key.kty == "OKP" && key.crv == "Ed25519" && key.alg == AccessTokens.algorithm && key.use == "sig" {
            guard let raw = Base64URL.decode(Substring(key.x)), let publicKey = try? Curve25519.Signing.PublicKey(rawRepresentation: raw)
            else { continue }
            keys[key.kid] = publicKey
        }
        self.init(keys: keys, issuer: issuer, audience: audience)
    }

    public var keyIDs: Set<String> { Set(keys.keys) }

    /// The key id a token names, read without trusting anything else in it (to decide whether
    /// the key set must be fetched again).
    public static func keyID(of token: String) -> String? {
        guard token.utf8.count <= AccessTokens.maxTokenLength, let dot = token.firstIndex(of: "."),
              let bytes = Base64URL.decode(token[..<dot]),
              let header = try? JSONDecoder().decode(JOSEHeader.self, from: Data(bytes))
        else { return nil }
        return header.kid
    }

    public func verify(_ token: String, now: Timestamp = .now()) throws -> AccessTokenClaims {
        if let claims = try cachedClaims(token, now: now) { return claims }
        let claims = try verifyFully(token, now: now)
        verified.insert(claims, for: token, now: now)
        return claims
    }

    /// The claims of `token` if this verifier has already checked it (the clock checks made
    /// again); nil when it has not.
    public func cachedClaims(_ token: String, now: Timestamp = .now()) throws -> AccessTokenClaims? {
        guard let claims = verified.claims(for: token) else { return nil }
        try Self.checkTime(of: claims, now: now)
        return claims
    }

    static func reject(_ reason: String) -> ChatterError {
        ChatterError(.unauthorized, "invalid or expired access token", detail: reason)
    }

    /// The checks that depend on the clock, made on every use of a token.
    static func checkTime(of claims: AccessTokenClaims, now: Timestamp) throws {
        let nowSeconds = now.secondsSinceEpoch
        guard claims.expiresAt > nowSeconds - AccessTokens.leeway else { throw reject("expired") }
        guard claims.issuedAt <= nowSeconds + AccessTokens.leeway else { throw reject("issued in the future") }
        if let notBefore = claims.notBefore, notBefore > nowSeconds + AccessTokens.leeway { throw reject("not yet valid") }
    }

    /// Every check, from the token's text.
    func verifyFully(_ token: String, now: Timestamp) throws -> AccessTokenClaims {
        let reject = Self.reject
        guard token.utf8.count <= AccessTokens.maxTokenLength else { throw reject("token too long") }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw reject("not a compact JWS") }
        guard let headerBytes = Base64URL.decode(parts[0]),
              let header = try? JSONDecoder().decode(JOSEHeader.self, from: Data(headerBytes))
        else { throw reject("unreadable header") }
        guard header.alg == AccessTokens.algorithm else { throw reject("algorithm \(header.alg) not allowed") }
        guard let keyID = header.kid, let key = keys[keyID] else { throw reject("unknown kid") }
        guard let signature = Base64URL.decode(parts[2]), signature.count == 64 else { throw reject("bad signature encoding") }
        let signingInput = Data(token.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count))
        guard key.isValidSignature(signature, for: signingInput) else { throw reject("bad signature") }
        guard let payloadBytes = Base64URL.decode(parts[1]),
              let claims = try? JSONDecoder().decode(AccessTokenClaims.self, from: Data(payloadBytes))
        else { throw reject("unreadable claims") }
        guard claims.issuer == issuer else { throw reject("wrong issuer") }
        guard claims.audience.contains(audience) else { throw reject("wrong audience") }
        try Self.checkTime(of: claims, now: now)
        return claims
    }
}
