import ChatterCore
import SQLiteNIO

/// Writes a chat event to the outbox on the connection of the transaction that made the change,
/// so the event exists if and only if the change committed.
enum Outbox {
    static func append(_ event: ChatEvent, on connection: SQLiteConnection) async throws {
        _ = try await connection.query(
            "INSERT INTO outbox (topic, partition_key, kind, payload, created_at) VALUES (?, ?, ?, ?, ?)",
            [.text(ChatEvent.topic), .text(event.chatID), .text(event.kind.rawValue), .text(try event.encodedJSON()), .time(event.occurredAt)])
    }
}

extension SQLiteStore {
    /// Outbox rows not yet published, oldest first; the relay of the real-time issue reads these.
    public func unpublishedEvents(limit: Int) async throws -> [(id: Int64, kind: String, chatID: String, payload: String)] {
        try await read { connection in
            try await connection.query(
                "SELECT id, kind, partition_key, payload FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT ?",
                [.int(limit)]
            ).map { (try $0.int64("id"), try $0.string("kind"), try $0.string("partition_key"), try $0.string("payload")) }
        }
    }
}
