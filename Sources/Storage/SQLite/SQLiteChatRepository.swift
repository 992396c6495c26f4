import ChatterCore

public struct SQLiteChatRepository: ChatRepository {
    let store: SQLiteStore

    public init(store: SQLiteStore) {
        self.store = store
    }

    public func createGroup(_ chat: ChatRecord) async throws {
        try await store.write { connection in
            try Self.insert(chat, directKey: nil, on: connection)
        }
    }

    public func createDirect(_ chat: ChatRecord) async throws -> (chat: ChatRecord, created: Bool) {
        let key = Self.directKey(chat.members.map(\.userID))
        return try await store.write { connection in
            let existing = try connection.query("SELECT id FROM chat_chats WHERE direct_key = ?", [.text(key)])
            if let id = try existing.first.map({ try $0.string("id") }), let found = try Self.load(ids: [id], on: connection).first {
                return (found, false)
            }
            try Self.insert(chat, directKey: key, on: connection)
            return (chat, true)
        }
    }

    public func chat(id: String) async throws -> ChatRecord? {
        try await store.read { connection in try Self.load(ids: [id], on: connection).first }
    }

    public func chats(ids: [String]) async throws -> [ChatRecord] {
        try await store.read { connection in try Self.load(ids: ids, on: connection) }
    }

    public func memberships(userID: String) async throws -> [(chatID: String, createdAt: Timestamp)] {
        try await store.read { connection in
            try connection.query(
                "SELECT c.id, c.created_at FROM chat_members m JOIN chat_chats c ON c.id = m.chat_id WHERE m.user_id = ?",
                [.text(userID)]
            ).map { (try $0.string("id"), try $0.timestamp("created_at")) }
        }
    }

    public func updateTitle(chatID: String, title: String, at: Timestamp) async throws -> ChatRecord {
        try await store.write { connection in
            _ = try connection.query("UPDATE chat_chats SET title = ? WHERE id = ?", [.text(title), .text(chatID)])
            guard let chat = try Self.load(ids: [chatID], on: connection).first else { throw ChatterError.notFound("chat") }
            try Outbox.append(ChatEvent(kind: .chatUpdated, chatID: chatID, occurredAt: at, chat: .init(chat)), on: connection)
            return chat
        }
    }

    public func upsertMember(chatID: String, member: Member, at: Timestamp) async throws -> Bool {
        try await store.write { connection in
            let current = try connection.query(
                "SELECT role FROM chat_members WHERE chat_id = ? AND user_id = ?", [.text(chatID), .text(member.userID)]
            ).first.map { try $0.string("role") }
            if current == member.role.rawValue { return false }
            if current == nil {
                _ = try connection.query(
                    "INSERT INTO chat_members (chat_id, user_id, role, joined_at) VALUES (?, ?, ?, ?)",
                    [.text(chatID), .text(member.userID), .text(member.role.rawValue), .time(member.joinedAt)])
            } else {
                _ = try connection.query(
                    "UPDATE chat_members SET role = ? WHERE chat_id = ? AND user_id = ?",
                    [.text(member.role.rawValue), .text(chatID), .text(member.userID)])
            }
            guard let chat = try Self.load(ids: [chatID], on: connection).first else { throw ChatterError.notFound("chat") }
            let stored = chat.member(member.userID) ?? member
            let kind: ChatEvent.Kind = current == nil ? .memberAdded : .chatUpdated
            try Outbox.append(
                ChatEvent(kind: kind, chatID: chatID, occurredAt: at, chat: .init(chat), member: stored, userID: member.userID),
                on: connection)
            return true
        }
    }

    public func removeMember(chatID: String, userID: String, at: Timestamp) async throws -> Bool {
        try await store.write { connection in
            let removed = try connection.query(
                "DELETE FROM chat_members WHERE chat_id = ? AND user_id = ? RETURNING role", [.text(chatID), .text(userID)])
            guard let role = try removed.first.map({ try $0.string("role") }) else { return false }
            if role == MemberRole.owner.rawValue {
                // Hand the group to the longest-standing admin, else the longest-standing member.
                _ = try connection.query(
                    """
                    UPDATE chat_members SET role = 'owner' WHERE chat_id = ?1 AND user_id = (
                        SELECT user_id FROM chat_members WHERE chat_id = ?1
                        ORDER BY CASE role WHEN 'admin' THEN 0 ELSE 1 END, joined_at, user_id LIMIT 1)
                    """, [.text(chatID)])
            }
            guard let chat = try Self.load(ids: [chatID], on: connection).first else { throw ChatterError.notFound("chat") }
            try Outbox.append(
                ChatEvent(kind: .memberRemoved, chatID: chatID, occurredAt: at, chat: .init(chat), userID: userID), on: connection)
            return true
        }
    }

    // MARK: - Helpers shared by the transactions above

    static func directKey(_ userIDs: [String]) -> String {
        userIDs.sorted().joined(separator: ":")
    }

    static func insert(_ chat: ChatRecord, directKey: String?, on connection: SQLConnection) throws {
        _ = try connection.query(
            "INSERT INTO chat_chats (id, type, title, created_by, created_at, direct_key) VALUES (?, ?, ?, ?, ?, ?)",
            [.text(chat.id), .text(chat.type.rawValue), .optionalText(chat.title), .text(chat.createdBy), .time(chat.createdAt),
             .optionalText(directKey)])
        for member in chat.members {
            _ = try connection.query(
                "INSERT INTO chat_members (chat_id, user_id, role, joined_at) VALUES (?, ?, ?, ?)",
                [.text(chat.id), .text(member.userID), .text(member.role.rawValue), .time(member.joinedAt)])
        }
        try Outbox.append(ChatEvent(kind: .chatCreated, chatID: chat.id, occurredAt: chat.createdAt, chat: .init(chat)), on: connection)
    }

    public func membership(chatID: String, userID: String) async throws -> Membership? {
        try await store.read { connection in
            guard let member = try connection.query(
                "SELECT role FROM chat_members WHERE chat_id = ? AND user_id = ?", [.text(chatID), .text(userID)]
            ).first, let chat = try connection.query("SELECT type FROM chat_chats WHERE id = ?", [.text(chatID)]).first
            else { return nil }
            let type = try chat.string("type"), role = try member.string("role")
            guard let chatType = ChatType(rawValue: type) else { throw StorageError.invalidValue(column: "type", value: type) }
            guard let memberRole = MemberRole(rawValue: role) else { throw StorageError.invalidValue(column: "role", value: role) }
            return Membership(chatType: chatType, role: memberRole)
        }
    }

    static func load(ids: [String], on connection: SQLConnection) throws -> [ChatRecord] {
        guard !ids.isEmpty else { return [] }
        var chats: [String: ChatRecord] = [:]
        for chunk in ids.chunked(into: 500) {
            let placeholders = Array(repeating: "?", count: chunk.count).joined(separator: ",")
            let binds = chunk.map { SQLValue.text($0) }
            for row in try connection.query(
                "SELECT id, type, title, created_by, created_at FROM chat_chats WHERE id IN (\(placeholders))", binds) {
                let type = try row.string("type")
                guard let chatType = ChatType(rawValue: type) else { throw StorageError.invalidValue(column: "type", value: type) }
                let id = try row.string("id")
                chats[id] = ChatRecord(id: id, type: chatType, title: row.optionalString("title"),
                                       createdBy: try row.string("created_by"), createdAt: try row.timestamp("created_at"), members: [])
            }
            for row in try connection.query(
                "SELECT chat_id, user_id, role, joined_at FROM chat_members WHERE chat_id IN (\(placeholders)) ORDER BY joined_at, user_id",
                binds) {
                let role = try row.string("role")
                guard let memberRole = MemberRole(rawValue: role) else { throw StorageError.invalidValue(column: "role", value: role) }
                chats[try row.string("chat_id")]?.members.append(
                    Member(userID: try row.string("user_id"), role: memberRole, joinedAt: try row.timestamp("joined_at")))
            }
        }
        return ids.compactMap { chats[$0] }
    }
}
