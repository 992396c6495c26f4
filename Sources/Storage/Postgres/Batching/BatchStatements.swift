import ChatterCore
import PostgresNIO

/// Locks the batch's chats (`chat_state` rows, created at 0 if new) in one order and returns
/// each chat's last `seq`.
enum LockBatchChats: PreparedQuery {
    static func query(chats: [String], now: Timestamp) -> PostgresQuery {
        """
        INSERT INTO messaging.chat_state (chat_id, last_seq, last_activity_at)
        SELECT chat_id, 0, \(now.milliseconds) FROM unnest(\(chats)) AS t(chat_id) ORDER BY chat_id
        ON CONFLICT (chat_id) DO UPDATE SET last_activity_at = excluded.last_activity_at
        RETURNING chat_id, last_seq
        """
    }

    static let sql = query(chats: [], now: Timestamp(millisecondsSinceEpoch: 0)).sql
    static let name = preparedStatementName(Self.self)
}

/// Writes a batch's new messages, moves the chats' counters and the senders' read markers, and
/// appends one outbox row per message in the batch's order, then wakes the relays.
enum InsertBatch: PreparedQuery {
    /// `payloads` and `traceparents` (empty: none) go with `created`, one each.
    static func query(created: [Message], payloads: [String], traceparents: [String], lastSeqs: [String: Int64],
                      readMarkers: [AppendBatchPlan.Reader: Int64], now: Timestamp) -> PostgresQuery {
        let counters = Array(lastSeqs)
        let markers = Array(readMarkers)
        return """
            WITH inserted AS (
                INSERT INTO messaging.messages (id, chat_id, seq, sender_id, body, client_msg_id, created_at)
                SELECT id, chat_id, seq, sender_id, body, client_msg_id, \(now.milliseconds)
                FROM unnest(\(created.map(\.id)), \(created.map(\.chatID)), \(created.map(\.seq)), \(created.map(\.senderID)),
                            \(created.map { $0.body ?? "" }), \(created.map(\.clientMsgID)))
                    AS t(id, chat_id, seq, sender_id, body, client_msg_id)
            ), counters AS (
                UPDATE messaging.chat_state AS s SET last_seq = t.seq
                FROM unnest(\(counters.map(\.key)), \(counters.map(\.value))) AS t(chat_id, seq)
                WHERE s.chat_id = t.chat_id
            ), markers AS (
                INSERT INTO messaging.read_markers (chat_id, user_id, seq, updated_at)
                SELECT chat_id, user_id, seq, \(now.milliseconds)
                FROM unnest(\(markers.map(\.key.chatID)), \(markers.map(\.key.userID)), \(markers.map(\.value))) AS t(chat_id, user_id, seq)
                ON CONFLICT (chat_id, user_id) DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at
                WHERE messaging.read_markers.seq < excluded.seq
            ), events AS (
                INSERT INTO outbox.events (topic, partition_key, kind, payload, created_at, seq, traceparent)
                SELECT \(ChatEvent.topic), chat_id, \(ChatEvent.Kind.messageCreated.rawValue), payload, \(now.milliseconds), seq,
                       NULLIF(traceparent, '')
                FROM unnest(\(created.map(\.chatID)), \(payloads), \(created.map(\.seq)), \(traceparents))
                    WITH ORDINALITY AS t(chat_id, payload, seq, traceparent, position)
                ORDER BY position
                RETURNING id
            )
            SELECT pg_notify(\(PostgresStore.outboxChannel), '') WHERE EXISTS (SELECT 1 FROM events)
            """
    }

    static let sql = query(created: [], payloads: [], traceparents: [], lastSeqs: [:], readMarkers: [:],
                           now: Timestamp(millisecondsSinceEpoch: 0)).sql
    static let name = preparedStatementName(Self.self)
}
