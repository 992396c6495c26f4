import ChatterCore
import PostgresNIO

/// Sessions and refresh tokens in `auth.sessions` / `auth.refresh_tokens`, hashes only.
public struct PostgresSessionRepository: SessionRepository {
    let store: PostgresStore

    public init(store: PostgresStore) {
        self.store = store
    }

    public func createSession(_ session: SessionRecord, tokenHash: String, expiresAt: Timestamp) async throws {
        let logger = store.logger
        try await store.transaction { connection in
            _ = try await connection.rows(
                "INSERT INTO auth.sessions (id, user_id, created_at) VALUES (\(session.id), \(session.userID), \(session.createdAt.milliseconds))",
                logger: logger)
            _ = try await connection.rows(
                """
                INSERT INTO auth.refresh_tokens (token_hash, session_id, issued_at, expires_at)
                VALUES (\(tokenHash), \(session.id), \(session.createdAt.milliseconds), \(expiresAt.milliseconds))
                """, logger: logger)
        }
    }

    public func rotate(tokenHash: String, newTokenHash: String, now: Timestamp, newExpiresAt: Timestamp) async throws -> RefreshRotation {
        let logger = store.logger
        return try await store.transaction { connection in
            // FOR UPDATE serialises two rotations of one token: the second waits, then reads
            // the token as used and treats it as reuse.
            let rows = try await connection.rows(
                """
                SELECT t.session_id, t.expires_at, t.used_at, s.user_id, s.created_at, s.revoked_at
                FROM auth.refresh_tokens t JOIN auth.sessions s ON s.id = t.session_id
                WHERE t.token_hash = \(tokenHash) FOR UPDATE
                """, logger: logger)
            guard let row = rows.first else { return .rejected }
            let (sessionID, expiresAt, usedAt, userID, createdAt, revokedAt) =
                try row.decode((String, Int64, Int64?, String, Int64, Int64?).self)
            let session = SessionRecord(id: sessionID, userID: userID, createdAt: Timestamp(milliseconds: createdAt),
                                        revokedAt: revokedAt.map(Timestamp.init(milliseconds:)))
            if session.revokedAt != nil { return .rejected }
            if usedAt != nil {
                _ = try await connection.rows(
                    "UPDATE auth.sessions SET revoked_at = \(now.milliseconds) WHERE id = \(sessionID) AND revoked_at IS NULL",
                    logger: logger)
                return .reused(sessionID: sessionID, userID: userID)
            }
            if expiresAt <= now.milliseconds { return .rejected }
            _ = try await connection.rows(
                "UPDATE auth.refresh_tokens SET used_at = \(now.milliseconds) WHERE token_hash = \(tokenHash)", logger: logger)
            _ = try await connection.rows(
                """
                INSERT INTO auth.refresh_tokens (token_hash, session_id, issued_at, expires_at)
                VALUES (\(newTokenHash), \(sessionID), \(now.milliseconds), \(newExpiresAt.milliseconds))
                """, logger: logger)
            return .rotated(session)
        }
    }

    public func session(id: String) async throws -> SessionRecord? {
        let logger = store.logger
        return try await store.withConnection { connection in
            try await connection.rows(
                "SELECT id, user_id, created_at, revoked_at FROM auth.sessions WHERE id = \(id)", logger: logger
            ).first.map(Self.session(from:))
        }
    }

    public func session(tokenHash: String) async throws -> SessionRecord? {
        let logger = store.logger
        return try await store.withConnection { connection in
            try await connection.rows(
                """
                SELECT s.id, s.user_id, s.created_at, s.revoked_at FROM auth.refresh_tokens t
                JOIN auth.sessions s ON s.id = t.session_id WHERE t.token_hash = \(tokenHash)
                """, logger: logger
            ).first.map(Self.session(from:))
        }
    }

    public func revoke(sessionID: String, at: Timestamp) async throws -> Bool {
        let logger = store.logger
        return try await store.withConnection { connection in
            try await connection.rows(
                "UPDATE auth.sessions SET revoked_at = \(at.milliseconds) WHERE id = \(sessionID) AND revoked_at IS NULL RETURNING id",
                logger: logger
            ).count == 1
        }
    }

    public func revokedSessions(since: Timestamp) async throws -> [String] {
        let logger = store.logger
        return try await store.withConnection { connection in
            try await connection.rows(
                "SELECT id FROM auth.sessions WHERE revoked_at >= \(since.milliseconds)", logger: logger
            ).map { try $0.decode(String.self) }
        }
    }

    static func session(from row: PostgresRow) throws -> SessionRecord {
        let (id, userID, createdAt, revokedAt) = try row.decode((String, String, Int64, Int64?).self)
        return SessionRecord(id: id, userID: userID, createdAt: Timestamp(milliseconds: createdAt),
                             revokedAt: revokedAt.map(Timestamp.init(milliseconds:)))
    }
}
