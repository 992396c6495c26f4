import ChatterCore
import ChatterHTTP
import Logging

/// The `Session` object of the API: who you are and the tokens to stay so.
public struct SessionResponse: Codable, Sendable, Hashable {
    public var user: User
    public var accessToken: String
    public var refreshToken: String
    public var tokenType = "Bearer"
    public var expiresIn: Int64

    enum CodingKeys: String, CodingKey {
        case user
        case accessToken = "access_token"
        case refreshToken = "refresh_token"
        case tokenType = "token_type"
        case expiresIn = "expires_in"
    }
}

/// Accounts, sessions and tokens. Owns `auth_*` tables through its repositories.
public struct AuthService: BearerAuthenticator {
    let users: any UserRepository
    let sessions: any SessionRepository
    public let tokens: AccessTokens
    let hasher: PasswordHasher
    let revocations: any RevocationList
    let refreshTokenTTL: Int64

    public init(
        users: any UserRepository, sessions: any SessionRepository, tokens: AccessTokens, hasher: PasswordHasher,
        revocations: any RevocationList, refreshTokenTTL: Int64
    ) {
        self.users = users
        self.sessions = sessions
        self.tokens = tokens
        self.hasher = hasher
        self.revocations = revocations
        self.refreshTokenTTL = refreshTokenTTL
    }

    public func register(username rawUsername: String, password rawPassword: String, displayName: String?) async throws -> SessionResponse {
        let username = try Validation.username(rawUsername)
        let password = try Validation.password(rawPassword)
        let name = try Validation.displayName(displayName, fallback: username)
        let now = Timestamp.now()
        let user = User(id: Identifier.make(at: now), username: username, displayName: name, createdAt: now)
        let hash = try await hasher.hash(password)
        try await users.create(user, passwordHash: hash)
        return try await startSession(for: user, now: now)
    }

    public func login(username: String, password: String) async throws -> SessionResponse {
        let failure = ChatterError(.invalidCredentials, "wrong username or password")
        guard let credentials = try await users.credentials(username: username) else {
            try await hasher.verifyDecoy(password)
            throw failure
        }
        guard try await hasher.verify(password, against: credentials.passwordHash) else { throw failure }
        return try await startSession(for: credentials.user, now: .now())
    }

    /// Rotates the refresh token. A token presented a second time is taken as stolen: the
    /// whole session is revoked, including its access tokens.
    public func refresh(refreshToken: String) async throws -> SessionResponse {
        let invalid = ChatterError(.invalidRefreshToken, "refresh token is invalid or expired")
        guard RefreshTokens.looksValid(refreshToken) else { throw invalid }
        let now = Timestamp.now()
        let newToken = RefreshTokens.make()
        switch try await sessions.rotate(
            tokenHash: RefreshTokens.hash(refreshToken), newTokenHash: RefreshTokens.hash(newToken), now: now,
            newExpiresAt: now.adding(seconds: refreshTokenTTL)) {
        case .rejected:
            throw invalid
        case .reused(let sessionID, _):
            try await revocations.revoke(sessionID: sessionID, until: now.adding(seconds: tokens.lifetimeSeconds + AccessTokens.leeway))
            throw ChatterError(.refreshTokenReused, "refresh token was already used; the session has been revoked")
        case .rotated(let session):
            guard let user = try await users.user(id: session.userID) else { throw invalid }
            return try sessionResponse(user: user, sessionID: session.id, refreshToken: newToken, now: now)
        }
    }

    /// Ends the caller's session and, when a refresh token of the same user is given, that
    /// token's session too. Access tokens of revoked sessions stop working at once.
    public func logout(identity: Identity, refreshToken: String?) async throws {
        var sessionIDs = [identity.sessionID]
        if let refreshToken, RefreshTokens.looksValid(refreshToken),
           let session = try await sessions.session(tokenHash: RefreshTokens.hash(refreshToken)),
           session.userID == identity.userID {
            sessionIDs.append(session.id)
        }
        let now = Timestamp.now()
        for sessionID in Set(sessionIDs) {
            try await sessions.revoke(sessionID: sessionID, at: now)
            try await revocations.revoke(sessionID: sessionID, until: now.adding(seconds: tokens.lifetimeSeconds + AccessTokens.leeway))
        }
    }

    public func user(id: String) async throws -> User {
        guard let user = try await users.user(id: id) else { throw ChatterError.notFound("user") }
        return user
    }

    public func search(prefix: String, limit: Int) async throws -> [User] {
        let lowered = prefix.lowercased()
        guard lowered.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || "_.-".unicodeScalars.contains($0) })
        else { return [] }
        return try await users.search(prefix: lowered, limit: limit)
    }

    public func authenticate(bearer token: String) async throws -> Identity {
        let claims = try tokens.verify(token)
        if try await revocations.isRevoked(sessionID: claims.sessionID, now: .now()) {
            throw ChatterError(.unauthorized, "invalid or expired access token", detail: "session revoked")
        }
        return Identity(userID: claims.subject, sessionID: claims.sessionID, tokenID: claims.tokenID)
    }

    /// Reloads revocations that may still cover unexpired access tokens, so a restart does not
    /// bring logged-out tokens back to life.
    public func restoreRevocations(logger: Logger) async throws {
        let now = Timestamp.now()
        let window = tokens.lifetimeSeconds + AccessTokens.leeway
        let revoked = try await sessions.revokedSessions(since: now.adding(seconds: -window))
        for sessionID in revoked {
            try await revocations.revoke(sessionID: sessionID, until: now.adding(seconds: window))
        }
        if !revoked.isEmpty {
            logger.info("restored session revocations", metadata: ["count": "\(revoked.count)"])
        }
    }

    private func startSession(for user: User, now: Timestamp) async throws -> SessionResponse {
        let refreshToken = RefreshTokens.make()
        let session = SessionRecord(id: Identifier.make(at: now), userID: user.id, createdAt: now)
        try await sessions.createSession(session, tokenHash: RefreshTokens.hash(refreshToken), expiresAt: now.adding(seconds: refreshTokenTTL))
        return try sessionResponse(user: user, sessionID: session.id, refreshToken: refreshToken, now: now)
    }

    private func sessionResponse(user: User, sessionID: String, refreshToken: String, now: Timestamp) throws -> SessionResponse {
        let access = try tokens.issue(userID: user.id, sessionID: sessionID, now: now)
        return SessionResponse(user: user, accessToken: access.token, refreshToken: refreshToken, expiresIn: tokens.lifetimeSeconds)
    }
}

/// Lets other roles check that user ids exist without reading `auth_*` tables.
public struct AuthUserLookup: UserLookup {
    let users: any UserRepository

    public init(users: any UserRepository) {
        self.users = users
    }

    public func existingUserIDs(_ ids: [String]) async throws -> Set<String> {
        Set(try await users.users(ids: ids).map(\.id))
    }
}
