import ChatterCore
import Logging
import PostgresNIO

/// The relay's view of `outbox.events`.
///
/// **Several relay instances.** Each relay step (read the oldest unpublished rows → publish
/// them → mark them) runs on one leased connection while holding the session-level advisory
/// lock `relayLockKey`, taken with `pg_try_advisory_lock`. An instance that does not get the
/// lock relays nothing this round and waits for the next notification, so at any moment one
/// instance publishes and batches reach the log whole and in id order. A lock rather than
/// `FOR UPDATE SKIP LOCKED`: skipping locked rows would let a second instance publish a
/// chat's later rows while the first still holds its earlier ones, breaking per-chat order.
/// If the leader dies, its connection closes and the server frees the lock at once; a crash
/// between publish and mark republishes that batch (duplicates, which consumers drop by
/// `(chat_id, seq)`, never gaps).
///
/// **Order.** Rows are read in id order. For one chat's messages id order is commit order:
/// every send holds the chat's `chat_state` row lock from before its outbox insert until it
/// commits. Chat changes likewise lock the chat's row.
///
/// **Waking.** Append transactions `NOTIFY chatter_outbox`; the store's listener turns each
/// notification into a `generation` change, so the relay wakes at commit, in this process or
/// any other. The wait's timeout is only the fallback while the listener reconnects.
public struct PostgresOutboxReader: OutboxReader {
    let store: PostgresStore

    /// Arbitrary, fixed: "chatter relay".
    static let relayLockKey: Int64 = 0x6368_6174_7265_6c

    public init(store: PostgresStore) {
        self.store = store
    }

    public func unpublished(limit: Int) async throws -> [OutboxEntry] {
        let logger = store.logger
        return try await store.withConnection { connection in
            try await Self.unpublished(limit: limit, on: connection, logger: logger)
        }
    }

    public func backlog() async throws -> OutboxBacklog {
        let logger = store.logger
        return try await store.withConnection { connection in
            let row = try await connection.rows(
                "SELECT count(*), min(created_at) FROM outbox.events WHERE published_at IS NULL", logger: logger
            ).first
            let (events, oldest) = try row?.decode((Int64, Int64?).self) ?? (Int64(0), nil)
            return OutboxBacklog(events: Int(events), oldest: oldest.map { Timestamp(millisecondsSinceEpoch: $0) })
        }
    }

    static func unpublished(limit: Int, on connection: PostgresConnection, logger: Logger) async throws -> [OutboxEntry] {
        try await connection.rows(prepared: Unpublished.self, Unpublished.query(limit: limit), logger: logger).map { row in
            let (id, topic, key, payload, kind, createdAt, seq, traceparent) = try row.decode(
                (Int64, String, String, String, String, Int64, Int64?, String?).self)
            var headers = [EventHeader.kind: kind, EventHeader.occurredAt: String(createdAt)]
            if let seq { headers[EventHeader.seq] = String(seq) }
            if let traceparent { headers[EventHeader.traceparent] = traceparent }
            return OutboxEntry(id: id, topic: topic, key: key, payload: payload, headers: headers)
        }
    }

    public func markPublished(ids: [Int64], at: Timestamp) async throws {
        guard !ids.isEmpty else { return }
        let logger = store.logger
        try await store.withConnection { connection in
            try await Self.mark(ids: ids, at: at, on: connection, logger: logger)
        }
    }

    static func mark(ids: [Int64], at: Timestamp, on connection: PostgresConnection, logger: Logger) async throws {
        guard let last = ids.max() else { return }
        _ = try await connection.rows(prepared: MarkPublished.self, MarkPublished.query(ids: ids, last: last, at: at), logger: logger)
    }

    /// The oldest unpublished rows, in id order.
    enum Unpublished: PreparedQuery {
        static func query(limit: Int) -> PostgresQuery {
            """
            SELECT id, topic, partition_key, payload, kind, created_at, seq, traceparent FROM outbox.events
            WHERE published_at IS NULL ORDER BY id LIMIT \(max(1, limit))
            """
        }

        static let sql = query(limit: 1).sql
        static let name = preparedStatementName(Self.self)
    }

    /// Marks rows published and moves the relay's progress row, in one statement.
    enum MarkPublished: PreparedQuery {
        static func query(ids: [Int64], last: Int64, at: Timestamp) -> PostgresQuery {
            """
            WITH marked AS (
                UPDATE outbox.events SET published_at = \(at.milliseconds) WHERE id = ANY(\(ids)) AND published_at IS NULL
            )
            UPDATE outbox.relay SET last_id = GREATEST(last_id, \(last)), updated_at = \(at.milliseconds) WHERE id = 1
            """
        }

        static let sql = query(ids: [], last: 0, at: Timestamp(millisecondsSinceEpoch: 0)).sql
        static let name = preparedStatementName(Self.self)
    }

    /// One relay step under the relay lock (see the type's documentation); 0 when another
    /// instance holds the lock or nothing is waiting.
    public func relayNext(limit: Int, to log: any EventLog) async throws -> Int {
        let logger = store.logger
        return try await store.withConnection { connection in
            let locked = try await connection.rows("SELECT pg_try_advisory_lock(\(Self.relayLockKey))", logger: logger)
                .first?.decode(Bool.self) ?? false
            guard locked else { return 0 }
            do {
                let batch = try await Self.unpublished(limit: limit, on: connection, logger: logger)
                if !batch.isEmpty {
                    try await log.publish(batch.map(\.outgoing))
                    try await Self.mark(ids: batch.map(\.id), at: .now(), on: connection, logger: logger)
                }
                _ = try await connection.rows("SELECT pg_advisory_unlock(\(Self.relayLockKey))", logger: logger)
                return batch.count
            } catch {
                _ = try? await connection.rows("SELECT pg_advisory_unlock(\(Self.relayLockKey))", logger: logger)
                throw error
            }
        }
    }

    public var generation: UInt64 { store.commits.generation }

    public func waitForEntries(since generation: UInt64, timeout: Duration) async {
        await store.commits.wait(since: generation, timeout: timeout)
    }
}
