import ChatterCore

/// The claims of a Chatter access token. `sid` ties the token to its login session so that
/// logout and refresh-token theft can revoke it before it expires.
public struct AccessTokenClaims: Sendable, Hashable, Codable {
    public var issuer: String
    public var audience: [String]
    public var subject: String
    public var expiresAt: Int64
    public var issuedAt: Int64
    public var notBefore: Int64?
    public var tokenID: String
    public var sessionID: String

    public init(issuer: String, audience: [String], subject: String, expiresAt: Int64, issuedAt: Int64, tokenID: String, sessionID: String) {
        self.issuer = issuer
        self.audience = audience
        self.subject = subject
        self.expiresAt = expiresAt
        self.issuedAt = issuedAt
        self.tokenID = tokenID
        self.sessionID = sessionID
    }

    enum CodingKeys: String, CodingKey {
        case issuer = "iss", audience = "aud", subject = "sub", expiresAt = "exp", issuedAt = "iat"
        case notBefore = "nbf", tokenID = "jti", sessionID = "sid"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        issuer = try container.decode(String.self, forKey: .issuer)
        // RFC 7519 allows `aud` as one string or an array of strings.
        if let single = try? container.decode(String.self, forKey: .audience) {
            audience = [single]
        } else {
            audience = try container.decode([String].self, forKey: .audience)
        }
        subject = try container.decode(String.self, forKey: .subject)
        expiresAt = try container.decode(Int64.self, forKey: .expiresAt)
        issuedAt = try container.decode(Int64.self, forKey: .issuedAt)
        notBefore = try container.decodeIfPresent(Int64.self, forKey: .notBefore)
        tokenID = try container.decode(String.self, forKey: .tokenID)
        sessionID = try container.decode(String.self, forKey: .sessionID)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(issuer, forKey: .issuer)
        if audience.count == 1 {
            try container.encode(audience[0], forKey: .audience)
        } else {
            try container.encode(audience, forKey: .audience)
        }
        try container.encode(subject, forKey: .subject)
        try container.encode(expiresAt, forKey: .expiresAt)
        try container.encode(issuedAt, forKey: .issuedAt)
        try container.encodeIfPresent(notBefore, forKey: .notBefore)
        try container.encode(tokenID, forKey: .tokenID)
        try container.encode(sessionID, forKey: .sessionID)
    }
}

/// The JOSE header. Only the fields Chatter looks at; anything else is ignored.
struct JOSEHeader: Codable {
    var alg: String
    var typ: String?
    var kid: String?
}
