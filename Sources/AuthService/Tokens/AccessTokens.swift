import ChatterCore
import Crypto
import Foundation

/// Issues and verifies access tokens: compact JWS, Ed25519 (`EdDSA`), with `kid`.
///
/// Verification accepts exactly one algorithm. The header's `alg` is checked against that list
/// before any key is touched, so `none`, HMAC-with-the-public-key and other downgrade tricks
/// fail up front, and the key is chosen by `kid` among keys Chatter itself holds.
public struct AccessTokens: Sendable {
    public static let algorithm = "EdDSA"
    /// Longest token looked at; anything longer is refused unparsed.
    static let maxTokenLength = 4096
    /// Tolerated clock skew between the issuer and a verifier, in seconds.
    static let leeway: Int64 = 30

    struct Key: Sendable {
        let id: String
        let privateKey: Curve25519.Signing.PrivateKey
    }

    private let signingKey: Key
    private let verificationKeys: [String: Curve25519.Signing.PublicKey]
    /// One for the life of these keys, so its cache of verified tokens is kept.
    private let verifier: AccessTokenVerifier
    public let issuer: String
    public let audience: String
    public let lifetimeSeconds: Int64

    /// `keys` newest first; the first one signs, all of them verify.
    public init(keys: [SigningKeyMaterial], issuer: String, audience: String, lifetimeSeconds: Int64) throws {
        let usable = try keys.filter { $0.algorithm == Self.algorithm }.map {
            Key(id: $0.keyID, privateKey: try Curve25519.Signing.PrivateKey(rawRepresentation: $0.privateKey))
        }
        guard let first = usable.first else {
            throw ChatterError(.internalError, "no signing key", detail: "no \(Self.algorithm) key in the key store")
        }
        signingKey = first
        verificationKeys = Dictionary(usable.map { ($0.id, $0.privateKey.publicKey) }, uniquingKeysWith: { first, _ in first })
        verifier = AccessTokenVerifier(keys: verificationKeys, issuer: issuer, audience: audience)
        self.issuer = issuer
        self.audience = audience
        self.lifetimeSeconds = lifetimeSeconds
    }

    public func issue(userID: String, sessionID: String, now: Timestamp = .now()) throws -> (token: String, claims: AccessTokenClaims) {
        let claims = AccessTokenClaims(
            issuer: issuer, audience: [audience], subject: userID, expiresAt: now.secondsSinceEpoch + lifetimeSeconds,
            issuedAt: now.secondsSinceEpoch, tokenID: Identifier.make(at: now), sessionID: sessionID)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let header = try encoder.encode(JOSEHeader(alg: Self.algorithm, typ: "JWT", kid: signingKey.id))
        let payload = try encoder.encode(claims)
        let signingInput = Base64URL.encode(header) + "." + Base64URL.encode(payload)
        let signature = try signingKey.privateKey.signature(for: Data(signingInput.utf8))
        return (signingInput + "." + Base64URL.encode(signature), claims)
    }

    public func verify(_ token: String, now: Timestamp = .now()) throws -> AccessTokenClaims {
        try verifier.verify(token, now: now)
    }

    /// The public keys as a JWKS (RFC 7517/8037), for `/.well-known/jwks.json`.
    public var jwks: JWKS {
        JWKS(keys: verificationKeys.sorted { $0.key < $1.key }.map { keyID, key in
            JWKS.Key(kty: "OKP", crv: "Ed25519", x: Base64URL.encode(key.rawRepresentation), kid: keyID, alg: Self.algorithm, use: "sig")
        })
    }
}

public struct JWKS: Sendable, Codable, Hashable {
    public struct Key: Sendable, Codable, Hashable {
        public var kty: String
        public var crv: String
        public var x: String
        public var kid: String
        public var alg: String
        public var use: String
    }

    public var keys: [Key]
}
