/// Login sessions and their refresh tokens, owned by the auth role. Tokens are stored only as
/// hashes; a session is one token family.
public protocol SessionRepository: Sendable {
    /// Creates a session whose first live refresh token has hash `tokenHash`.
    func createSession(_ session: SessionRecord, tokenHash: String, expiresAt: Timestamp) async throws

    /// Atomically consumes the live token with `tokenHash` and installs `newTokenHash`.
    /// Presenting a token that was already consumed revokes the whole session (theft).
    func rotate(tokenHash: String, newTokenHash: String, now: Timestamp, newExpiresAt: Timestamp) async throws -> RefreshRotation

    func session(id: String) async throws -> SessionRecord?
    /// The session a refresh token (live or consumed) belongs to.
    func session(tokenHash: String) async throws -> SessionRecord?
    /// Marks the session revoked; returns false when it did not exist or was already revoked.
    @discardableResult
    func revoke(sessionID: String, at: Timestamp) async throws -> Bool
    /// Ids of sessions revoked at or after `since`, to rebuild the revocation list on start.
    func revokedSessions(since: Timestamp) async throws -> [String]
}
