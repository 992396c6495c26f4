import ChatterCore
import Logging
import PostgresNIO

/// Sends committed together: one transaction, three statements and one fsync for every send
/// that arrived while the previous batch was committing.
///
/// A send on its own costs seven round trips to PostgreSQL, each a hand-off from the calling
/// task to postgres-nio's event loop and back, and the chat's row lock is held across its
/// commit's fsync, so one busy chat managed one send per fsync. A batch pays the round trips
/// and the fsync once. The guarantees are those of the single send (design.md §3), per batch:
///
/// 1. The batch's chats are locked in one order (`chat_state` rows, sorted), so every earlier
///    send to them has committed and two batches sharing chats queue instead of deadlocking.
/// 2. `AppendBatchPlan` numbers the new messages per chat in arrival order; one statement
///    inserts them, moves the counters and the senders' read markers, and appends the outbox
///    rows in the same order — so the relay, reading by id, publishes each chat in `seq` order.
/// 3. A retry of a send already stored makes that insert break the idempotency key's unique
///    index, and the whole transaction rolls back. The batch is then committed again, this
///    time looking its keys up under the locks first, so a retry gets the stored message.
///    Retries are rare (a client resends only when it lost an ack), and looking every key up
///    in every batch cost about a sixth of PostgreSQL's time per send.
///
/// A batch that fails for a reason other than the database's availability (a statement one
/// send's data breaks) is retried one send per transaction, so only that send fails.
enum PostgresBatchAppend {
    /// The most sends in one transaction.
    static let limit = 256
    /// Batches committing at once. Two let one batch's round trips overlap the other's fsync;
    /// batches sharing a chat still queue on its row lock.
    static let committers = 2

    /// Commits batches from `queue` until it is closed. A send that has waited longer than the
    /// pool's acquire timeout when its turn comes gets 503 instead (see `AppendQueue.next`).
    static func commitUntilClosed(_ queue: AppendQueue, store: PostgresStore) async {
        while let batch = await queue.next(limit: limit, maxWait: store.configuration.acquireTimeout) {
            await commit(batch, store: store)
        }
    }

    static func commit(_ batch: [AppendQueue.Entry], store: PostgresStore) async {
        let logger = store.logger
        let messages = batch.map(\.message)
        let traceparents = Dictionary(batch.compactMap { entry in entry.traceparent.map { (entry.message.id, $0) } },
                                      uniquingKeysWith: { first, _ in first })
        do {
            let results: [AppendResult]
            do {
                results = try await store.transaction { connection in
                    try await write(messages, traceparents: traceparents, lookingUpStored: false, on: connection, logger: logger)
                }
            } catch where PostgresErrors.isUniqueViolation(error) {
                logger.debug("a batch holds a retry of a stored send; committing it again with its keys looked up",
                             metadata: [LoggingKeys.batchSize: "\(batch.count)"])
                results = try await store.transaction { connection in
                    try await write(messages, traceparents: traceparents, lookingUpStored: true, on: connection, logger: logger)
                }
            }
            for (entry, result) in zip(batch, results) { entry.reply.resume(returning: result) }
        } catch {
            if batch.count > 1, !isUnavailable(error) {
                logger.warning("a batch of sends failed; committing them one by one", metadata: [
                    LoggingKeys.errorDetail: "\(String(reflecting: error))", LoggingKeys.batchSize: "\(batch.count)"])
                for entry in batch {
                    do {
                        entry.reply.resume(returning: try await PostgresMessageRepository.appendAlone(
                            entry.message, traceparent: entry.traceparent, store: store))
                    } catch {
                        entry.reply.resume(throwing: error)
                    }
                }
                return
            }
            let failure = error is CancellationError
                ? ChatterError.unavailable("database", detail: "the store shut down during the send") : error
            for entry in batch { entry.reply.resume(throwing: failure) }
        }
    }

    private static func isUnavailable(_ error: any Error) -> Bool {
        if error is CancellationError { return true }
        return (error as? ChatterError)?.code == .unavailable
    }

    /// The batch transaction's statements; answers in the order of `messages`. `traceparents`:
    /// the trace each send continues, by message id. Without `lookingUpStored` a retry of a
    /// stored send fails the insert with a unique violation (see the type's documentation).
    static func write(_ messages: [NewMessage], traceparents: [String: String], lookingUpStored: Bool,
                      on connection: PostgresConnection, logger: Logger) async throws -> [AppendResult] {
        let now = Timestamp.now()
        var lastSeq: [String: Int64] = [:]
        for row in try await connection.rows(
            prepared: LockBatchChats.self, LockBatchChats.query(chats: AppendBatchPlan.chatsToLock(messages), now: now), logger: logger) {
            let (chatID, seq) = try row.decode((String, Int64).self)
            lastSeq[chatID] = seq
        }
        let stored = lookingUpStored ? try await storedMessages(AppendBatchPlan.keys(messages), on: connection, logger: logger) : [:]
        let plan = AppendBatchPlan(messages: messages, lastSeq: lastSeq, stored: stored, at: now)
        guard !plan.created.isEmpty else { return plan.results }

        let created = plan.created
        let payloads = try created.map {
            try ChatEvent(kind: .messageCreated, chatID: $0.chatID, occurredAt: now, message: $0).encodedJSON()
        }
        _ = try await connection.rows(
            prepared: InsertBatch.self,
            InsertBatch.query(created: created, payloads: payloads, traceparents: created.map { traceparents[$0.id] ?? "" },
                              lastSeqs: plan.lastSeqs, readMarkers: plan.readMarkers, now: now),
            logger: logger)
        return plan.results
    }

    /// The messages already stored under any of `keys`, read under the batch's chat locks, so
    /// every earlier send to those chats has committed.
    static func storedMessages(_ keys: [AppendBatchPlan.Key], on connection: PostgresConnection,
                               logger: Logger) async throws -> [AppendBatchPlan.Key: Message] {
        var stored: [AppendBatchPlan.Key: Message] = [:]
        for row in try await connection.rows(
            """
            SELECT \(unescaped: PostgresMessageRepository.columns) FROM messaging.messages
            WHERE (chat_id, sender_id, client_msg_id) IN
                (SELECT * FROM unnest(\(keys.map(\.chatID)), \(keys.map(\.senderID)), \(keys.map(\.clientMsgID))))
            """, logger: logger) {
            let message = try PostgresMessageRepository.message(from: row)
            stored[AppendBatchPlan.Key(chatID: message.chatID, senderID: message.senderID, clientMsgID: message.clientMsgID)] = message
        }
        return stored
    }
}
