import ChatterCore

public struct SQLiteUserRepository: UserRepository {
    let store: SQLiteStore

    public init(store: SQLiteStore) {
        self.store = store
    }

    public func create(_ user: User, passwordHash: String) async throws {
        let inserted = try await store.write { connection in
            try connection.query(
                """
                INSERT INTO auth_users (id, username, display_name, password_hash, created_at)
                VALUES (?, ?, ?, ?, ?) ON CONFLICT (username) DO NOTHING RETURNING id
                """,
                [.text(user.id), .text(user.username.lowercased()), .text(user.displayName), .text(passwordHash), .time(user.createdAt)]
            ).count
        }
        if inserted == 0 {
            throw ChatterError(.usernameTaken, "username is already taken")
        }
    }

    public func user(id: String) async throws -> User? {
        try await store.read { connection in
            try connection.query("SELECT id, username, display_name, created_at FROM auth_users WHERE id = ?", [.text(id)])
                .first.map(Self.user(from:))
        }
    }

    public func credentials(username: String) async throws -> UserCredentials? {
        try await store.read { connection in
            try connection.query(
                "SELECT id, username, display_name, created_at, password_hash FROM auth_users WHERE username = ?",
                [.text(username.lowercased())]
            ).first.map { UserCredentials(user: try Self.user(from: $0), passwordHash: try $0.string("password_hash")) }
        }
    }

    public func search(prefix: String, limit: Int) async throws -> [User] {
        // Usernames only hold [a-z0-9_.-]; a range scan on the unique index finds the prefix
        // without LIKE and its escaping.
        let lower = prefix.lowercased()
        return try await store.read { connection in
            try connection.query(
                "SELECT id, username, display_name, created_at FROM auth_users WHERE username >= ? AND username < ? ORDER BY username LIMIT ?",
                [.text(lower), .text(lower + "\u{10FFFF}"), .int(limit)]
            ).map(Self.user(from:))
        }
    }

    public func users(ids: [String]) async throws -> [User] {
        guard !ids.isEmpty else { return [] }
        return try await store.read { connection in
            var users: [User] = []
            for chunk in ids.chunked(into: 500) {
                let placeholders = Array(repeating: "?", count: chunk.count).joined(separator: ",")
                users += try connection.query(
                    "SELECT id, username, display_name, created_at FROM auth_users WHERE id IN (\(placeholders))",
                    chunk.map { .text($0) }
                ).map(Self.user(from:))
            }
            return users
        }
    }

    static func user(from row: SQLRow) throws -> User {
        User(id: try row.string("id"), username: try row.string("username"),
             displayName: try row.string("display_name"), createdAt: try row.timestamp("created_at"))
    }
}

extension Array {
    func chunked(into size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}
