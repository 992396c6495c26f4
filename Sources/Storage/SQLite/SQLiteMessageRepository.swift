import ChatterCore

public struct SQLiteMessageRepository: MessageRepository {
    let store: SQLiteStore

    public init(store: SQLiteStore) {
        self.store = store
    }

    static let columns = "id, chat_id, seq, sender_id, body, client_msg_id, created_at, edited_at, deleted_at"

    public func append(_ new: NewMessage) async throws -> AppendResult {
        try await store.write { connection in
            // A retry finds the first attempt. The writer gate serialises this check with the
            // insert below; the unique index backs it up.
            if let existing = try connection.query(
                "SELECT \(Self.columns) FROM messaging_messages WHERE chat_id = ? AND sender_id = ? AND client_msg_id = ?",
                [.text(new.chatID), .text(new.senderID), .text(new.clientMsgID)]
            ).first {
                return AppendResult(message: try Self.message(from: existing), created: false)
            }
            let now = Timestamp.now()
            let seqRows = try connection.query(
                """
                INSERT INTO messaging_chat_state (chat_id, last_seq, last_activity_at) VALUES (?, 1, ?)
                ON CONFLICT (chat_id) DO UPDATE SET last_seq = last_seq + 1, last_activity_at = excluded.last_activity_at
                RETURNING last_seq
                """, [.text(new.chatID), .time(now)])
            guard let seq = try seqRows.first?.int64("last_seq") else { throw StorageError.missingColumn("last_seq") }
            let message = Message(id: new.id, chatID: new.chatID, seq: seq, senderID: new.senderID, body: new.body,
                                  clientMsgID: new.clientMsgID, createdAt: now)
            _ = try connection.query(
                "INSERT INTO messaging_messages (id, chat_id, seq, sender_id, body, client_msg_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [.text(message.id), .text(message.chatID), .int(seq), .text(message.senderID), .text(new.body),
                 .text(message.clientMsgID), .time(now)])
            _ = try Self.advanceReadMarker(chatID: new.chatID, userID: new.senderID, seq: seq, at: now, on: connection)
            try Outbox.append(ChatEvent(kind: .messageCreated, chatID: new.chatID, occurredAt: now, message: message), on: connection)
            return AppendResult(message: message, created: true)
        }
    }

    public func message(chatID: String, id: String) async throws -> Message? {
        try await store.read { connection in
            try connection.query(
                "SELECT \(Self.columns) FROM messaging_messages WHERE chat_id = ? AND id = ?", [.text(chatID), .text(id)]
            ).first.map(Self.message(from:))
        }
    }

    public func history(chatID: String, query: HistoryQuery) async throws -> MessagePage {
        // With after_seq the page starts right after it; otherwise it is the newest page below
        // before_seq. Either way one extra row tells whether there is more in that direction.
        let ascending = query.afterSeq != nil
        let (filter, binds) = Self.historyFilter(chatID: chatID, query: query)
        let sql = "SELECT \(Self.columns) FROM messaging_messages WHERE \(filter) ORDER BY seq \(ascending ? "ASC" : "DESC") LIMIT ?"
        var messages = try await store.read { connection in
            try connection.query(sql, binds).map(Self.message(from:))
        }
        let hasMore = messages.count > query.limit
        if hasMore { messages.removeLast() }
        if !ascending { messages.reverse() }
        return MessagePage(messages: messages, hasMore: hasMore)
    }

    /// The same page as `history`, written from the rows' cells (`MessageRowJSON`).
    ///
    /// The rows are read once, as they come, so both directions come oldest first: a backward
    /// page is the newest rows turned around by an outer query, and its extra row (the oldest)
    /// is dropped from the front once it is known that there is one.
    public func historyJSON(chatID: String, query: HistoryQuery) async throws -> MessagePageJSON {
        let ascending = query.afterSeq != nil
        let (filter, binds) = Self.historyFilter(chatID: chatID, query: query)
        let newest = "SELECT \(MessageRowJSON.selectList) FROM messaging_messages WHERE \(filter) ORDER BY seq DESC LIMIT ?"
        let sql = ascending
            ? "SELECT \(MessageRowJSON.selectList) FROM messaging_messages WHERE \(filter) ORDER BY seq ASC LIMIT ?"
            : "SELECT * FROM (\(newest)) ORDER BY seq ASC"
        let limit = query.limit
        return try await store.read { connection in
            let quotedChatID = MessageRowJSON.quoted(chatID: chatID)
            var bytes: [UInt8] = [UInt8(ascii: "[")]
            bytes.reserveCapacity(2 + 384 * limit)
            var rows = 0
            var secondRowStart = 0
            try connection.forEachRow(sql, binds) { cells in
                // Going forward the extra row comes last: it is not written.
                if ascending, rows == limit { rows += 1; return false }
                if rows > 0 { bytes.append(UInt8(ascii: ",")) }
                if rows == 1 { secondRowStart = bytes.count }
                try MessageRowJSON.append(&cells, quotedChatID: quotedChatID, to: &bytes)
                rows += 1
                return true
            }
            let hasMore = rows > limit
            if hasMore, !ascending { bytes.removeSubrange(1..<secondRowStart) }
            bytes.append(UInt8(ascii: "]"))
            return MessagePageJSON(messages: bytes, count: min(rows, limit), hasMore: hasMore)
        }
    }

    /// The history page's conditions, and their values followed by the row limit (one row more
    /// than the page, to tell whether there is more).
    private static func historyFilter(chatID: String, query: HistoryQuery) -> (String, [SQLValue]) {
        var conditions = ["chat_id = ?"]
        var binds: [SQLValue] = [.text(chatID)]
        if let after = query.afterSeq {
            conditions.append("seq > ?")
            binds.append(.int(after))
        }
        if let before = query.beforeSeq {
            conditions.append("seq < ?")
            binds.append(.int(before))
        }
        binds.append(.int(query.limit + 1))
        return (conditions.joined(separator: " AND "), binds)
    }

    public func edit(chatID: String, id: String, body: String, at: Timestamp) async throws -> Message? {
        try await store.write { connection in
            guard let row = try connection.query(
                "UPDATE messaging_messages SET body = ?, edited_at = ? WHERE chat_id = ? AND id = ? AND deleted_at IS NULL RETURNING \(Self.columns)",
                [.text(body), .time(at), .text(chatID), .text(id)]
            ).first else { return nil }
            let message = try Self.message(from: row)
            try Outbox.append(ChatEvent(kind: .messageUpdated, chatID: chatID, occurredAt: at, message: message), on: connection)
            return message
        }
    }

    public func delete(chatID: String, id: String, at: Timestamp) async throws -> Message? {
        try await store.write { connection in
            if let row = try connection.query(
                "UPDATE messaging_messages SET body = NULL, deleted_at = ? WHERE chat_id = ? AND id = ? AND deleted_at IS NULL RETURNING \(Self.columns)",
                [.time(at), .text(chatID), .text(id)]
            ).first {
                let message = try Self.message(from: row)
                try Outbox.append(ChatEvent(kind: .messageDeleted, chatID: chatID, occurredAt: at, message: message), on: connection)
                return message
            }
            return try connection.query(
                "SELECT \(Self.columns) FROM messaging_messages WHERE chat_id = ? AND id = ?", [.text(chatID), .text(id)]
            ).first.map(Self.message(from:))
        }
    }

    public func markRead(chatID: String, userID: String, seq: Int64, at: Timestamp) async throws -> Int64 {
        try await store.write { connection in
            let (stored, moved) = try Self.advanceReadMarker(chatID: chatID, userID: userID, seq: seq, at: at, on: connection)
            if moved {
                try Outbox.append(
                    ChatEvent(kind: .readUpdated, chatID: chatID, occurredAt: at, userID: userID, seq: stored), on: connection)
            }
            return stored
        }
    }

    public func lastSeq(chatID: String) async throws -> Int64 {
        try await store.read { connection in
            try connection.query("SELECT last_seq FROM messaging_chat_state WHERE chat_id = ?", [.text(chatID)])
                .first?.int64("last_seq") ?? 0
        }
    }

    public func summaries(chatIDs: [String], userID: String) async throws -> [String: ChatSummary] {
        guard !chatIDs.isEmpty else { return [:] }
        return try await store.read { connection in
            var result: [String: ChatSummary] = [:]
            for chunk in chatIDs.chunked(into: 400) {
                let placeholders = Array(repeating: "?", count: chunk.count).joined(separator: ",")
                let binds: [SQLValue] = [.text(userID)] + chunk.map { .text($0) }
                for row in try connection.query(
                    """
                    SELECT s.chat_id, s.last_seq, s.last_activity_at,
                        (SELECT count(*) FROM messaging_messages m
                         WHERE m.chat_id = s.chat_id AND m.seq > COALESCE(r.seq, 0)
                           AND m.sender_id <> ?1 AND m.deleted_at IS NULL) AS unread
                    FROM messaging_chat_state s
                    LEFT JOIN messaging_read_markers r ON r.chat_id = s.chat_id AND r.user_id = ?1
                    WHERE s.chat_id IN (\(placeholders))
                    """, binds) {
                    result[try row.string("chat_id")] = ChatSummary(
                        lastSeq: try row.int64("last_seq"), unreadCount: try row.int64("unread"),
                        lastActivityAt: try row.timestamp("last_activity_at"))
                }
                for row in try connection.query(
                    """
                    SELECT m.id, m.chat_id, m.seq, m.sender_id, m.body, m.client_msg_id, m.created_at, m.edited_at, m.deleted_at
                    FROM messaging_messages m JOIN messaging_chat_state s ON s.chat_id = m.chat_id AND m.seq = s.last_seq
                    WHERE s.chat_id IN (\(placeholders))
                    """, Array(binds.dropFirst())) {
                    let message = try Self.message(from: row)
                    result[message.chatID]?.lastMessage = message
                }
            }
            return result
        }
    }

    // MARK: - Helpers

    /// Moves a read marker forward only; returns the stored marker and whether it moved.
    static func advanceReadMarker(
        chatID: String, userID: String, seq: Int64, at: Timestamp, on connection: SQLConnection
    ) throws -> (Int64, Bool) {
        let previous = try connection.query(
            "SELECT seq FROM messaging_read_markers WHERE chat_id = ? AND user_id = ?", [.text(chatID), .text(userID)]
        ).first?.int64("seq") ?? 0
        guard seq > previous else { return (previous, false) }
        _ = try connection.query(
            """
            INSERT INTO messaging_read_markers (chat_id, user_id, seq, updated_at) VALUES (?, ?, ?, ?)
            ON CONFLICT (chat_id, user_id) DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at
            """, [.text(chatID), .text(userID), .int(seq), .time(at)])
        return (seq, true)
    }

    static func message(from row: SQLRow) throws -> Message {
        let deleted = row.optionalInt64("deleted_at") != nil
        return Message(
            id: try row.string("id"), chatID: try row.string("chat_id"), seq: try row.int64("seq"),
            senderID: try row.string("sender_id"), body: deleted ? nil : row.optionalString("body"),
            clientMsgID: try row.string("client_msg_id"), createdAt: try row.timestamp("created_at"),
            editedAt: row.optionalTimestamp("edited_at"), deleted: deleted)
    }
}
