import ChatterCore
import Logging
import PostgresNIO
import Telemetry
import Tracing

/// Messages, per-chat counters and read markers in the `messaging` schema.
///
/// Sends are committed in batches (`PostgresBatchAppend`); a send alone (`appendAlone`) is one
/// transaction (design.md §3): the upsert of `messaging.chat_state` returns
/// the chat's next `seq` and leaves its row locked until commit, so concurrent senders to one
/// chat queue behind each other and get 1, 2, 3, … with no gap; a rolled-back send rolls its
/// bump back too. The message, the sender's read marker and the `message.created` outbox row
/// go into the same transaction.
public struct PostgresMessageRepository: MessageRepository {
    let store: PostgresStore

    public init(store: PostgresStore) {
        self.store = store
    }

    static let columns = "id, chat_id, seq, sender_id, body, client_msg_id, created_at, edited_at, deleted_at"

    /// Carries the stored message of a retry out of the transaction, which rolls back.
    private struct AlreadyStored: Error {
        var message: Message
    }

    /// Waits for the batch transaction that carries the send (`PostgresBatchAppend`). A traced
    /// send gets a span for that wait, whose context the outbox row carries on.
    public func append(_ new: NewMessage) async throws -> AppendResult {
        guard TraceHeaders.currentTraceparent() != nil else {
            return try await store.appends.submit(new, traceparent: nil)
        }
        return try await withSpan("postgresql transaction", ofKind: .client) { span in
            span.attributes["db.system"] = "postgresql"
            return try await store.appends.submit(new, traceparent: TraceHeaders.currentTraceparent())
        }
    }

    /// One send in a transaction of its own: what a batch falls back to when one of its sends
    /// fails it.
    static func appendAlone(_ new: NewMessage, traceparent: String?, store: PostgresStore) async throws -> AppendResult {
        let logger = store.logger
        do {
            return try await store.transaction { connection in
                let now = Timestamp.now()
                let seqRows = try await connection.rows(
                    """
                    INSERT INTO messaging.chat_state (chat_id, last_seq, last_activity_at) VALUES (\(new.chatID), 1, \(now.milliseconds))
                    ON CONFLICT (chat_id) DO UPDATE
                    SET last_seq = messaging.chat_state.last_seq + 1, last_activity_at = excluded.last_activity_at
                    RETURNING last_seq
                    """, logger: logger)
                guard let seq = try seqRows.first?.decode(Int64.self) else { throw PostgresStorageError(column: "last_seq", value: "none") }
                // Under the chat's row lock every earlier send to this chat has committed, so a
                // retry finds its first attempt here.
                if let existing = try await Self.find(new, on: connection, logger: logger) {
                    throw AlreadyStored(message: existing)
                }
                let message = Message(id: new.id, chatID: new.chatID, seq: seq, senderID: new.senderID, body: new.body,
                                      clientMsgID: new.clientMsgID, createdAt: now)
                _ = try await connection.rows(
                    """
                    INSERT INTO messaging.messages (id, chat_id, seq, sender_id, body, client_msg_id, created_at)
                    VALUES (\(message.id), \(message.chatID), \(seq), \(message.senderID), \(new.body), \(message.clientMsgID), \(now.milliseconds))
                    """, logger: logger)
                _ = try await Self.advanceReadMarker(chatID: new.chatID, userID: new.senderID, seq: seq, at: now, on: connection, logger: logger)
                try await PostgresOutbox.append(ChatEvent(kind: .messageCreated, chatID: new.chatID, occurredAt: now, message: message),
                                                traceparent: traceparent, on: connection, logger: logger)
                return AppendResult(message: message, created: true)
            }
        } catch let stored as AlreadyStored {
            return AppendResult(message: stored.message, created: false)
        } catch let error where PostgresErrors.isUniqueViolation(error) {
            // Backstop for the unique index on (chat, sender, client id).
            let found = try await store.withConnection { connection in try await Self.find(new, on: connection, logger: logger) }
            guard let found else { throw error }
            return AppendResult(message: found, created: false)
        }
    }

    static func find(_ new: NewMessage, on connection: PostgresConnection, logger: Logger) async throws -> Message? {
        try await connection.rows(
            """
            SELECT \(unescaped: columns) FROM messaging.messages
            WHERE chat_id = \(new.chatID) AND sender_id = \(new.senderID) AND client_msg_id = \(new.clientMsgID)
            """, logger: logger
        ).first.map(message(from:))
    }

    public func message(chatID: String, id: String) async throws -> Message? {
        let logger = store.logger
        return try await store.withConnection { connection in
            try await connection.rows(
                "SELECT \(unescaped: Self.columns) FROM messaging.messages WHERE chat_id = \(chatID) AND id = \(id)", logger: logger
            ).first.map(Self.message(from:))
        }
    }

    public func history(chatID: String, query: HistoryQuery) async throws -> MessagePage {
        let (rows, ascending) = try await historyRows(chatID: chatID, query: query)
        var messages = try rows.prefix(query.limit).map { try Self.pageMessage(from: $0, chatID: chatID) }
        if !ascending { messages.reverse() }
        return MessagePage(messages: messages, hasMore: rows.count > query.limit)
    }

    /// The same page as `history`, written from the rows' cells (`MessageRowJSON`).
    public func historyJSON(chatID: String, query: HistoryQuery) async throws -> MessagePageJSON {
        let (rows, ascending) = try await historyRows(chatID: chatID, query: query)
        let page = rows.prefix(query.limit)
        let bytes = try MessageRowJSON.page(page, ascending: ascending, chatID: chatID) { ColumnReader($0) }
        return MessagePageJSON(messages: bytes, count: page.count, hasMore: rows.count > query.limit)
    }

    /// A page's rows in `MessageRowJSON.selectList`'s columns, in the statement's order.
    ///
    /// With after_seq the page starts right after it (ascending); otherwise it is the newest page
    /// below before_seq (descending). Either way one extra row tells whether there is more in
    /// that direction.
    private func historyRows(chatID: String, query: HistoryQuery) async throws -> (rows: [PostgresRow], ascending: Bool) {
        let ascending = query.afterSeq != nil
        let after = query.afterSeq ?? 0
        let before = query.beforeSeq ?? Int64.max
        let limit = Int64(query.limit + 1)
        let logger = store.logger
        let rows = try await store.withConnection { connection in
            try await ascending
                ? connection.rows(prepared: HistoryForward.self, HistoryForward.query(chatID, after, before, limit), logger: logger)
                : connection.rows(prepared: HistoryBackward.self, HistoryBackward.query(chatID, after, before, limit), logger: logger)
        }
        return (rows, ascending)
    }

    /// A page row (`MessageRowJSON.selectList`, a tombstone's body already NULL) as a `Message`.
    static func pageMessage(from row: PostgresRow, chatID: String) throws -> Message {
        var cells = ColumnReader(row)
        let body = try cells.optionalString(), clientMsgID = try cells.string(), createdAt = try cells.int64()
        let deleted = try cells.nextBool(), editedAt = try cells.optionalInt64()
        let id = try cells.string(), senderID = try cells.string(), seq = try cells.int64()
        return Message(
            id: id, chatID: chatID, seq: seq, senderID: senderID, body: body, clientMsgID: clientMsgID,
            createdAt: Timestamp(milliseconds: createdAt), editedAt: editedAt.map(Timestamp.init(milliseconds:)), deleted: deleted)
    }

    /// A chat's messages between two seqs (both excluded), oldest first.
    enum HistoryForward: PreparedQuery {
        static func query(_ chatID: String, _ after: Int64, _ before: Int64, _ limit: Int64) -> PostgresQuery {
            historyQuery(order: "ASC", chatID, after, before, limit)
        }

        static let sql = query("", 0, 0, 0).sql
        static let name = preparedStatementName(Self.self)
    }

    /// A chat's messages between two seqs (both excluded), newest first.
    enum HistoryBackward: PreparedQuery {
        static func query(_ chatID: String, _ after: Int64, _ before: Int64, _ limit: Int64) -> PostgresQuery {
            historyQuery(order: "DESC", chatID, after, before, limit)
        }

        static let sql = query("", 0, 0, 0).sql
        static let name = preparedStatementName(Self.self)
    }

    /// The history page's statement; the two directions are two prepared statements.
    private static func historyQuery(order: String, _ chatID: String, _ after: Int64, _ before: Int64,
                                     _ limit: Int64) -> PostgresQuery {
        """
        SELECT \(unescaped: MessageRowJSON.selectList) FROM messaging.messages
        WHERE chat_id = \(chatID) AND seq > \(after) AND seq < \(before) ORDER BY seq \(unescaped: order) LIMIT \(limit)
        """
    }

    public func edit(chatID: String, id: String, body: String, at: Timestamp) async throws -> Message? {
        let logger = store.logger
        return try await store.transaction { connection in
            guard let row = try await connection.rows(
                """
                UPDATE messaging.messages SET body = \(body), edited_at = \(at.milliseconds)
                WHERE chat_id = \(chatID) AND id = \(id) AND deleted_at IS NULL RETURNING \(unescaped: Self.columns)
                """, logger: logger
            ).first else { return nil }
            let message = try Self.message(from: row)
            try await PostgresOutbox.append(ChatEvent(kind: .messageUpdated, chatID: chatID, occurredAt: at, message: message),
                                            on: connection, logger: logger)
            return message
        }
    }

    public func delete(chatID: String, id: String, at: Timestamp) async throws -> Message? {
        let logger = store.logger
        return try await store.transaction { connection in
            if let row = try await connection.rows(
                """
                UPDATE messaging.messages SET body = NULL, deleted_at = \(at.milliseconds)
                WHERE chat_id = \(chatID) AND id = \(id) AND deleted_at IS NULL RETURNING \(unescaped: Self.columns)
                """, logger: logger
            ).first {
                let message = try Self.message(from: row)
                try await PostgresOutbox.append(ChatEvent(kind: .messageDeleted, chatID: chatID, occurredAt: at, message: message),
                                                on: connection, logger: logger)
                return message
            }
            return try await connection.rows(
                "SELECT \(unescaped: Self.columns) FROM messaging.messages WHERE chat_id = \(chatID) AND id = \(id)", logger: logger
            ).first.map(Self.message(from:))
        }
    }

    public func markRead(chatID: String, userID: String, seq: Int64, at: Timestamp) async throws -> Int64 {
        let logger = store.logger
        return try await store.transaction { connection in
            let (stored, moved) = try await Self.advanceReadMarker(chatID: chatID, userID: userID, seq: seq, at: at,
                                                                   on: connection, logger: logger)
            if moved {
                try await PostgresOutbox.append(
                    ChatEvent(kind: .readUpdated, chatID: chatID, occurredAt: at, userID: userID, seq: stored),
                    on: connection, logger: logger)
            }
            return stored
        }
    }

    public func lastSeq(chatID: String) async throws -> Int64 {
        let logger = store.logger
        return try await store.withConnection { connection in
            try await connection.rows(
                "SELECT last_seq FROM messaging.chat_state WHERE chat_id = \(chatID)", logger: logger
            ).first?.decode(Int64.self) ?? 0
        }
    }

    public func summaries(chatIDs: [String], userID: String) async throws -> [String: ChatSummary] {
        guard !chatIDs.isEmpty else { return [:] }
        let logger = store.logger
        return try await store.withConnection { connection in
            var result: [String: ChatSummary] = [:]
            for row in try await connection.rows(
                """
                SELECT s.chat_id, s.last_seq, s.last_activity_at,
                    (SELECT count(*) FROM messaging.messages m
                     WHERE m.chat_id = s.chat_id AND m.seq > COALESCE(r.seq, 0)
                       AND m.sender_id <> \(userID) AND m.deleted_at IS NULL) AS unread
                FROM messaging.chat_state s
                LEFT JOIN messaging.read_markers r ON r.chat_id = s.chat_id AND r.user_id = \(userID)
                WHERE s.chat_id = ANY(\(chatIDs))
                """, logger: logger) {
                let (chatID, lastSeq, activity, unread) = try row.decode((String, Int64, Int64, Int64).self)
                result[chatID] = ChatSummary(lastSeq: lastSeq, unreadCount: unread, lastActivityAt: Timestamp(milliseconds: activity))
            }
            for row in try await connection.rows(
                """
                SELECT m.id, m.chat_id, m.seq, m.sender_id, m.body, m.client_msg_id, m.created_at, m.edited_at, m.deleted_at
                FROM messaging.messages m JOIN messaging.chat_state s ON s.chat_id = m.chat_id AND m.seq = s.last_seq
                WHERE s.chat_id = ANY(\(chatIDs))
                """, logger: logger) {
                let message = try Self.message(from: row)
                result[message.chatID]?.lastMessage = message
            }
            return result
        }
    }

    // MARK: - Helpers

    /// Moves a read marker forward only, atomically; returns the stored marker and whether it
    /// moved.
    static func advanceReadMarker(
        chatID: String, userID: String, seq: Int64, at: Timestamp, on connection: PostgresConnection, logger: Logger
    ) async throws -> (Int64, Bool) {
        if seq > 0, let moved = try await connection.rows(
            """
            INSERT INTO messaging.read_markers (chat_id, user_id, seq, updated_at) VALUES (\(chatID), \(userID), \(seq), \(at.milliseconds))
            ON CONFLICT (chat_id, user_id) DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at
            WHERE messaging.read_markers.seq < excluded.seq
            RETURNING seq
            """, logger: logger
        ).first {
            return (try moved.decode(Int64.self), true)
        }
        let current = try await connection.rows(
            "SELECT seq FROM messaging.read_markers WHERE chat_id = \(chatID) AND user_id = \(userID)", logger: logger
        ).first?.decode(Int64.self)
        return (current ?? 0, false)
    }

    static func message(from row: PostgresRow) throws -> Message {
        var columns = ColumnReader(row)
        let id = try columns.string(), chatID = try columns.string(), seq = try columns.int64()
        let senderID = try columns.string(), body = try columns.optionalString(), clientMsgID = try columns.string()
        let createdAt = try columns.int64(), editedAt = try columns.optionalInt64(), deletedAt = try columns.optionalInt64()
        let deleted = deletedAt != nil
        return Message(
            id: id, chatID: chatID, seq: seq, senderID: senderID, body: deleted ? nil : body,
            clientMsgID: clientMsgID, createdAt: Timestamp(milliseconds: createdAt),
            editedAt: editedAt.map(Timestamp.init(milliseconds:)), deleted: deleted)
    }
}
