import ChatterCore
import Logging
import PostgresNIO

/// Chats and members in `chat.chats` / `chat.members`. Every change to a chat first locks the
/// chat's row, so changes to one chat (and their outbox events) happen one after another, as
/// on SQLite's single writer.
public struct PostgresChatRepository: ChatRepository {
    let store: PostgresStore

    public init(store: PostgresStore) {
        self.store = store
    }

    public func createGroup(_ chat: ChatRecord) async throws {
        let logger = store.logger
        try await store.transaction { connection in
            _ = try await Self.insert(chat, directKey: nil, on: connection, logger: logger)
        }
    }

    public func createDirect(_ chat: ChatRecord) async throws -> (chat: ChatRecord, created: Bool) {
        let key = Self.directKey(chat.members.map(\.userID))
        let logger = store.logger
        return try await store.transaction { connection in
            // ON CONFLICT waits for a concurrent creator of the same pair to commit; the
            // loser then loads the winner's chat.
            if try await Self.insert(chat, directKey: key, on: connection, logger: logger) {
                return (chat, true)
            }
            let existing = try await connection.rows(
                "SELECT id FROM chat.chats WHERE direct_key = \(key)", logger: logger
            ).first.map { try $0.decode(String.self) }
            guard let id = existing, let found = try await Self.load(ids: [id], on: connection, logger: logger).first else {
                throw ChatterError(.conflict, "direct chat changed concurrently, try again")
            }
            return (found, false)
        }
    }

    public func chat(id: String) async throws -> ChatRecord? {
        let logger = store.logger
        return try await store.withConnection { connection in try await Self.load(ids: [id], on: connection, logger: logger).first }
    }

    public func chats(ids: [String]) async throws -> [ChatRecord] {
        let logger = store.logger
        return try await store.withConnection { connection in try await Self.load(ids: ids, on: connection, logger: logger) }
    }

    public func membership(chatID: String, userID: String) async throws -> Membership? {
        let logger = store.logger
        return try await store.withConnection { connection in
            guard let row = try await connection.rows(
                """
                SELECT c.type, m.role FROM chat.members m JOIN chat.chats c ON c.id = m.chat_id
                WHERE m.chat_id = \(chatID) AND m.user_id = \(userID)
                """, logger: logger
            ).first else { return nil }
            let (type, role) = try row.decode((String, String).self)
            return Membership(chatType: try Self.chatType(type), role: try Self.memberRole(role))
        }
    }

    public func memberships(userID: String) async throws -> [(chatID: String, createdAt: Timestamp)] {
        let logger = store.logger
        let rows = try await store.withConnection { connection in
            try await connection.rows(
                "SELECT c.id, c.created_at FROM chat.members m JOIN chat.chats c ON c.id = m.chat_id WHERE m.user_id = \(userID)",
                logger: logger
            ).map { try $0.decode((String, Int64).self) }
        }
        return rows.map { (chatID: $0.0, createdAt: Timestamp(milliseconds: $0.1)) }
    }

    public func updateTitle(chatID: String, title: String, at: Timestamp) async throws -> ChatRecord {
        let logger = store.logger
        return try await store.transaction { connection in
            try await Self.lock(chatID: chatID, on: connection, logger: logger)
            _ = try await connection.rows("UPDATE chat.chats SET title = \(title) WHERE id = \(chatID)", logger: logger)
            guard let chat = try await Self.load(ids: [chatID], on: connection, logger: logger).first else { throw ChatterError.notFound("chat") }
            try await PostgresOutbox.append(ChatEvent(kind: .chatUpdated, chatID: chatID, occurredAt: at, chat: .init(chat)),
                                            on: connection, logger: logger)
            return chat
        }
    }

    public func upsertMember(chatID: String, member: Member, at: Timestamp) async throws -> Bool {
        let logger = store.logger
        return try await store.transaction { connection in
            try await Self.lock(chatID: chatID, on: connection, logger: logger)
            let current = try await connection.rows(
                "SELECT role FROM chat.members WHERE chat_id = \(chatID) AND user_id = \(member.userID)", logger: logger
            ).first.map { try $0.decode(String.self) }
            if current == member.role.rawValue { return false }
            if current == nil {
                _ = try await connection.rows(
                    """
                    INSERT INTO chat.members (chat_id, user_id, role, joined_at)
                    VALUES (\(chatID), \(member.userID), \(member.role.rawValue), \(member.joinedAt.milliseconds))
                    """, logger: logger)
            } else {
                _ = try await connection.rows(
                    "UPDATE chat.members SET role = \(member.role.rawValue) WHERE chat_id = \(chatID) AND user_id = \(member.userID)",
                    logger: logger)
            }
            guard let chat = try await Self.load(ids: [chatID], on: connection, logger: logger).first else { throw ChatterError.notFound("chat") }
            let stored = chat.member(member.userID) ?? member
            let kind: ChatEvent.Kind = current == nil ? .memberAdded : .chatUpdated
            try await PostgresOutbox.append(
                ChatEvent(kind: kind, chatID: chatID, occurredAt: at, chat: .init(chat), member: stored, userID: member.userID),
                on: connection, logger: logger)
            return true
        }
    }

    public func removeMember(chatID: String, userID: String, at: Timestamp) async throws -> Bool {
        let logger = store.logger
        return try await store.transaction { connection in
            try await Self.lock(chatID: chatID, on: connection, logger: logger)
            let removed = try await connection.rows(
                "DELETE FROM chat.members WHERE chat_id = \(chatID) AND user_id = \(userID) RETURNING role", logger: logger)
            guard let role = try removed.first.map({ try $0.decode(String.self) }) else { return false }
            if role == MemberRole.owner.rawValue {
                // Hand the group to the longest-standing admin, else the longest-standing member.
                _ = try await connection.rows(
                    """
                    UPDATE chat.members SET role = 'owner' WHERE chat_id = \(chatID) AND user_id = (
                        SELECT user_id FROM chat.members WHERE chat_id = \(chatID)
                        ORDER BY CASE role WHEN 'admin' THEN 0 ELSE 1 END, joined_at, user_id LIMIT 1)
                    """, logger: logger)
            }
            guard let chat = try await Self.load(ids: [chatID], on: connection, logger: logger).first else { throw ChatterError.notFound("chat") }
            try await PostgresOutbox.append(
                ChatEvent(kind: .memberRemoved, chatID: chatID, occurredAt: at, chat: .init(chat), userID: userID),
                on: connection, logger: logger)
            return true
        }
    }

    // MARK: - Helpers shared by the transactions above

    static func directKey(_ userIDs: [String]) -> String {
        userIDs.sorted().joined(separator: ":")
    }

    /// Serialises changes to one chat; a missing chat is `notFound`.
    static func lock(chatID: String, on connection: PostgresConnection, logger: Logger) async throws {
        let rows = try await connection.rows("SELECT id FROM chat.chats WHERE id = \(chatID) FOR UPDATE", logger: logger)
        if rows.isEmpty { throw ChatterError.notFound("chat") }
    }

    /// Inserts the chat, its members and `chat.created`; false (nothing written) when a direct
    /// chat for the same pair exists already.
    static func insert(_ chat: ChatRecord, directKey: String?, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        let inserted = try await connection.rows(
            """
            INSERT INTO chat.chats (id, type, title, created_by, created_at, direct_key)
            VALUES (\(chat.id), \(chat.type.rawValue), \(chat.title), \(chat.createdBy), \(chat.createdAt.milliseconds), \(directKey))
            ON CONFLICT (direct_key) DO NOTHING RETURNING id
            """, logger: logger)
        guard !inserted.isEmpty else { return false }
        for member in chat.members {
            _ = try await connection.rows(
                """
                INSERT INTO chat.members (chat_id, user_id, role, joined_at)
                VALUES (\(chat.id), \(member.userID), \(member.role.rawValue), \(member.joinedAt.milliseconds))
                """, logger: logger)
        }
        try await PostgresOutbox.append(ChatEvent(kind: .chatCreated, chatID: chat.id, occurredAt: chat.createdAt, chat: .init(chat)),
                                        on: connection, logger: logger)
        return true
    }

    static func load(ids: [String], on connection: PostgresConnection, logger: Logger) async throws -> [ChatRecord] {
        guard !ids.isEmpty else { return [] }
        var chats: [String: ChatRecord] = [:]
        for row in try await connection.rows(
            "SELECT id, type, title, created_by, created_at FROM chat.chats WHERE id = ANY(\(ids))", logger: logger) {
            let (id, type, title, createdBy, createdAt) = try row.decode((String, String, String?, String, Int64).self)
            chats[id] = ChatRecord(id: id, type: try chatType(type), title: title, createdBy: createdBy,
                                   createdAt: Timestamp(milliseconds: createdAt), members: [])
        }
        for row in try await connection.rows(
            "SELECT chat_id, user_id, role, joined_at FROM chat.members WHERE chat_id = ANY(\(ids)) ORDER BY joined_at, user_id",
            logger: logger) {
            let (chatID, userID, role, joinedAt) = try row.decode((String, String, String, Int64).self)
            chats[chatID]?.members.append(Member(userID: userID, role: try memberRole(role), joinedAt: Timestamp(milliseconds: joinedAt)))
        }
        return ids.compactMap { chats[$0] }
    }

    static func chatType(_ value: String) throws -> ChatType {
        guard let type = ChatType(rawValue: value) else { throw PostgresStorageError(column: "type", value: value) }
        return type
    }

    static func memberRole(_ value: String) throws -> MemberRole {
        guard let role = MemberRole(rawValue: value) else { throw PostgresStorageError(column: "role", value: value) }
        return role
    }
}
