/// A login session: one refresh-token family. Rotation replaces the token, never the session.
public struct SessionRecord: Sendable, Hashable {
    public var id: String
    public var userID: String
    public var createdAt: Timestamp
    public var revokedAt: Timestamp?

    public init(id: String, userID: String, createdAt: Timestamp, revokedAt: Timestamp? = nil) {
        self.id = id
        self.userID = userID
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }
}

/// What presenting a refresh token for rotation led to.
public enum RefreshRotation: Sendable, Hashable {
    /// The token was live; it is now used and `newTokenHash` is the session's live token.
    case rotated(SessionRecord)
    /// The token had already been rotated: treated as theft, the whole session is now revoked.
    case reused(sessionID: String, userID: String)
    /// Unknown, expired, or belonging to a revoked session.
    case rejected
}
