import ChatterCore

public struct SQLiteSessionRepository: SessionRepository {
    let store: SQLiteStore

    public init(store: SQLiteStore) {
        self.store = store
    }

    public func createSession(_ session: SessionRecord, tokenHash: String, expiresAt: Timestamp) async throws {
        try await store.write { connection in
            _ = try connection.query(
                "INSERT INTO auth_sessions (id, user_id, created_at) VALUES (?, ?, ?)",
                [.text(session.id), .text(session.userID), .time(session.createdAt)])
            _ = try connection.query(
                "INSERT INTO auth_refresh_tokens (token_hash, session_id, issued_at, expires_at) VALUES (?, ?, ?, ?)",
                [.text(tokenHash), .text(session.id), .time(session.createdAt), .time(expiresAt)])
        }
    }

    public func rotate(tokenHash: String, newTokenHash: String, now: Timestamp, newExpiresAt: Timestamp) async throws -> RefreshRotation {
        try await store.write { connection in
            let rows = try connection.query(
                """
                SELECT t.session_id, t.expires_at, t.used_at, s.user_id, s.created_at, s.revoked_at
                FROM auth_refresh_tokens t JOIN auth_sessions s ON s.id = t.session_id
                WHERE t.token_hash = ?
                """, [.text(tokenHash)])
            guard let row = rows.first else { return .rejected }
            let session = SessionRecord(
                id: try row.string("session_id"), userID: try row.string("user_id"),
                createdAt: try row.timestamp("created_at"), revokedAt: row.optionalTimestamp("revoked_at"))
            if session.revokedAt != nil { return .rejected }
            if row.optionalInt64("used_at") != nil {
                _ = try connection.query(
                    "UPDATE auth_sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                    [.time(now), .text(session.id)])
                return .reused(sessionID: session.id, userID: session.userID)
            }
            if try row.timestamp("expires_at") <= now { return .rejected }
            _ = try connection.query(
                "UPDATE auth_refresh_tokens SET used_at = ? WHERE token_hash = ?", [.time(now), .text(tokenHash)])
            _ = try connection.query(
                "INSERT INTO auth_refresh_tokens (token_hash, session_id, issued_at, expires_at) VALUES (?, ?, ?, ?)",
                [.text(newTokenHash), .text(session.id), .time(now), .time(newExpiresAt)])
            return .rotated(session)
        }
    }

    public func session(id: String) async throws -> SessionRecord? {
        try await store.read { connection in
            try connection.query("SELECT id, user_id, created_at, revoked_at FROM auth_sessions WHERE id = ?", [.text(id)])
                .first.map(Self.session(from:))
        }
    }

    public func session(tokenHash: String) async throws -> SessionRecord? {
        try await store.read { connection in
            try connection.query(
                """
                SELECT s.id, s.user_id, s.created_at, s.revoked_at FROM auth_refresh_tokens t
                JOIN auth_sessions s ON s.id = t.session_id WHERE t.token_hash = ?
                """, [.text(tokenHash)]
            ).first.map(Self.session(from:))
        }
    }

    public func revoke(sessionID: String, at: Timestamp) async throws -> Bool {
        try await store.write { connection in
            try connection.query(
                "UPDATE auth_sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL RETURNING id",
                [.time(at), .text(sessionID)]
            ).count == 1
        }
    }

    public func revokedSessions(since: Timestamp) async throws -> [String] {
        try await store.read { connection in
            try connection.query("SELECT id FROM auth_sessions WHERE revoked_at >= ?", [.time(since)])
                .map { try $0.string("id") }
        }
    }

    static func session(from row: SQLRow) throws -> SessionRecord {
        SessionRecord(id: try row.string("id"), userID: try row.string("user_id"),
                      createdAt: try row.timestamp("created_at"), revokedAt: row.optionalTimestamp("revoked_at"))
    }
}
