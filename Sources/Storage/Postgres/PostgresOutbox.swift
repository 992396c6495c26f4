import ChatterCore
import Logging
import PostgresNIO
import Telemetry

/// Writes a chat event to `outbox.events` on the connection of the transaction that made the
/// change, so the event exists if and only if the change committed, and notifies the outbox
/// channel in the same statement. PostgreSQL delivers a `NOTIFY` only at commit (and folds
/// repeats within one transaction into one), so listeners wake exactly when rows are visible.
enum PostgresOutbox {
    /// `traceparent`: the trace the event continues, by default the calling task's.
    static func append(_ event: ChatEvent, traceparent: String? = TraceHeaders.currentTraceparent(), on connection: PostgresConnection,
                       logger: Logger) async throws {
        let seq = event.kind == .messageCreated ? event.message?.seq : nil
        let payload = try event.encodedJSON()
        _ = try await connection.rows(
            """
            WITH row AS (
                INSERT INTO outbox.events (topic, partition_key, kind, payload, created_at, seq, traceparent)
                VALUES (\(ChatEvent.topic), \(event.chatID), \(event.kind.rawValue), \(payload), \(event.occurredAt.milliseconds), \(seq),
                        \(traceparent))
                RETURNING id)
            SELECT pg_notify(\(PostgresStore.outboxChannel), '') FROM row
            """, logger: logger)
    }
}
