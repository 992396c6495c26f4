import ChatterCore

/// Writes a chat event to the outbox on the connection of the transaction that made the change,
/// so the event exists if and only if the change committed.
enum Outbox {
    static func append(_ event: ChatEvent, on connection: SQLConnection) throws {
        let seq = event.kind == .messageCreated ? event.message?.seq : nil
        try connection.execute(
            "INSERT INTO outbox (topic, partition_key, kind, payload, created_at, seq, traceparent) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [.text(ChatEvent.topic), .text(event.chatID), .text(event.kind.rawValue), .text(try event.encodedJSON()),
             .time(event.occurredAt), seq.map { .int($0) } ?? .null, connection.traceparent.map { .text($0) } ?? .null])
    }
}

/// The relay's view of the outbox.
public struct SQLiteOutboxReader: OutboxReader {
    let store: SQLiteStore

    public init(store: SQLiteStore) {
        self.store = store
    }

    public func unpublished(limit: Int) async throws -> [OutboxEntry] {
        try await store.read { connection in try Self.unpublished(limit: limit, on: connection) }
    }

    public func backlog() async throws -> OutboxBacklog {
        try await store.read { connection in
            let row = try connection.query(
                "SELECT count(*) AS events, min(created_at) AS oldest FROM outbox WHERE id > (SELECT last_id FROM outbox_relay WHERE id = 1)"
            ).first
            return OutboxBacklog(
                events: Int(row?.optionalInt64("events") ?? 0),
                oldest: row?.optionalInt64("oldest").map { Timestamp(millisecondsSinceEpoch: $0) })
        }
    }

    static func unpublished(limit: Int, on connection: SQLConnection) throws -> [OutboxEntry] {
        try connection.query(
            // The limit is written into the text: SQLite re-plans a statement every time a bound
            // LIMIT changes, which defeats the statement cache.
            """
            SELECT id, topic, partition_key, payload, kind, created_at, seq, traceparent FROM outbox
            WHERE id > (SELECT last_id FROM outbox_relay WHERE id = 1) ORDER BY id LIMIT \(max(1, limit))
            """
        ).map { row in
            var headers = [EventHeader.kind: try row.string("kind"), EventHeader.occurredAt: String(try row.int64("created_at"))]
            if let seq = row.optionalInt64("seq") { headers[EventHeader.seq] = String(seq) }
            if let traceparent = row.optionalString("traceparent") { headers[EventHeader.traceparent] = traceparent }
            return OutboxEntry(id: try row.int64("id"), topic: try row.string("topic"), key: try row.string("partition_key"),
                               payload: try row.string("payload"), headers: headers)
        }
    }

    /// With the embedded log in the same file, reading the rows, appending them and marking
    /// them is one step on the writer: one hand-off instead of three. Not durable on its own:
    /// after a power cut the rows are simply unpublished again.
    public func relayNext(limit: Int, to log: any EventLog) async throws -> Int {
        guard let local = localLog(log) else { return try await relayNextInSteps(limit: limit, to: log) }
        let records = try await store.write(durable: false) { connection in
            try Self.publish(try Self.unpublished(limit: limit, on: connection), to: local, on: connection)
        }
        if !records.isEmpty { local.didCommit(records) }
        return records.count
    }

    /// With the embedded log in the same file, the records and the published mark commit
    /// together: no republished batch after a crash.
    public func relay(_ entries: [OutboxEntry], to log: any EventLog) async throws {
        guard let local = localLog(log) else { return try await publishThenMark(entries, to: log) }
        let records = try await store.write(durable: false) { connection in try Self.publish(entries, to: local, on: connection) }
        if !records.isEmpty { local.didCommit(records) }
    }

    /// Publishes outbox rows to `log` inside the very transaction that wrote them (the store's
    /// before-commit step), when the log lives in the same file: records and rows commit
    /// together, with one fsync, and the fan-out wakes right after the commit instead of after
    /// a relay round trip. The `OutboxRelay` service still runs and publishes whatever this
    /// step did not (rows beyond `limit`, or a failed step).
    public func publishInline(to log: SQLiteEventLog, limit: Int = 1000) {
        guard localLog(log) != nil else { return }
        store.setBeforeCommitStep { connection in
            let entries = try Self.unpublished(limit: limit, on: connection)
            let records = try Self.publish(entries, to: log, on: connection)
            return .init(afterCommit: { if !records.isEmpty { log.didCommit(records) } }, drained: entries.count < limit)
        }
    }

    /// `log` when it is the embedded log in this store's file.
    private func localLog(_ log: any EventLog) -> SQLiteEventLog? {
        guard let local = log as? SQLiteEventLog, local.store === store else { return nil }
        return local
    }

    /// Appends `entries` to the local log and moves the cursor past them, in the caller's
    /// transaction; the caller hands the records to `didCommit` after the commit.
    private static func publish(_ entries: [OutboxEntry], to log: SQLiteEventLog, on connection: SQLConnection) throws -> [EventRecord] {
        guard let last = entries.map(\.id).max() else { return [] }
        let records = try log.append(entries.map(\.outgoing), on: connection)
        try advanceCursor(to: last, on: connection)
        return records
    }

    public func markPublished(ids: [Int64], at: Timestamp) async throws {
        guard let last = ids.max() else { return }
        try await store.write { connection in try Self.advanceCursor(to: last, on: connection) }
    }

    /// Moves the relay's cursor past `last`. The relay publishes the oldest rows in id order,
    /// so everything up to `last` is published; the cursor never moves back.
    static func advanceCursor(to last: Int64, on connection: SQLConnection) throws {
        try connection.execute("UPDATE outbox_relay SET last_id = max(last_id, ?) WHERE id = 1", [.int(last)])
    }

    public var generation: UInt64 { store.commits.generation }

    public func waitForEntries(since generation: UInt64, timeout: Duration) async {
        await store.commits.wait(since: generation, timeout: timeout)
    }
}
