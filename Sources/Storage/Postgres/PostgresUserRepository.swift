import ChatterCore
import PostgresNIO

/// Accounts in `auth.users`. Usernames are stored case-folded; the unique index makes a
/// taken name `.usernameTaken`, also when two registrations race.
public struct PostgresUserRepository: UserRepository {
    let store: PostgresStore

    public init(store: PostgresStore) {
        self.store = store
    }

    public func create(_ user: User, passwordHash: String) async throws {
        let logger = store.logger
        let inserted = try await store.withConnection { connection in
            try await connection.rows(
                """
                INSERT INTO auth.users (id, username, display_name, password_hash, created_at)
                VALUES (\(user.id), \(user.username.lowercased()), \(user.displayName), \(passwordHash), \(user.createdAt.milliseconds))
                ON CONFLICT (username) DO NOTHING RETURNING id
                """, logger: logger).count
        }
        if inserted == 0 {
            throw ChatterError(.usernameTaken, "username is already taken")
        }
    }

    public func user(id: String) async throws -> User? {
        let logger = store.logger
        return try await store.withConnection { connection in
            try await connection.rows(
                "SELECT id, username, display_name, created_at FROM auth.users WHERE id = \(id)", logger: logger
            ).first.map(Self.user(from:))
        }
    }

    public func credentials(username: String) async throws -> UserCredentials? {
        let logger = store.logger
        return try await store.withConnection { connection in
            try await connection.rows(
                "SELECT id, username, display_name, created_at, password_hash FROM auth.users WHERE username = \(username.lowercased())",
                logger: logger
            ).first.map { row in
                let (id, name, display, created, hash) = try row.decode((String, String, String, Int64, String).self)
                return UserCredentials(user: User(id: id, username: name, displayName: display, createdAt: Timestamp(milliseconds: created)),
                                       passwordHash: hash)
            }
        }
    }

    public func search(prefix: String, limit: Int) async throws -> [User] {
        // Usernames only hold [a-z0-9_.-]; a range scan on the unique index finds the prefix
        // without LIKE and its escaping. The column is `COLLATE "C"`: bytewise order, as in SQLite.
        let lower = prefix.lowercased()
        let upper = lower + "\u{10FFFF}"
        let logger = store.logger
        return try await store.withConnection { connection in
            try await connection.rows(
                """
                SELECT id, username, display_name, created_at FROM auth.users
                WHERE username >= \(lower) AND username < \(upper) ORDER BY username LIMIT \(limit)
                """, logger: logger
            ).map(Self.user(from:))
        }
    }

    public func users(ids: [String]) async throws -> [User] {
        guard !ids.isEmpty else { return [] }
        let logger = store.logger
        return try await store.withConnection { connection in
            try await connection.rows(
                "SELECT id, username, display_name, created_at FROM auth.users WHERE id = ANY(\(ids))", logger: logger
            ).map(Self.user(from:))
        }
    }

    static func user(from row: PostgresRow) throws -> User {
        let (id, name, display, created) = try row.decode((String, String, String, Int64).self)
        return User(id: id, username: name, displayName: display, createdAt: Timestamp(milliseconds: created))
    }
}
