import ChatterCore
import Foundation
import ServiceLifecycle
import Synchronization
import Testing

@testable import PostgresStorage

/// Batched sends on a real PostgreSQL: what one batch transaction writes, and a send that
/// breaks its batch failing alone.
@Suite(.enabled(if: PostgresTestDatabase.enabled, "needs CHATTER_TEST_DATABASE_URL (scripts/test starts PostgreSQL)"))
struct PostgresBatchAppendTests {
    func new(_ chat: String, _ sender: String, _ clientID: String = Identifier.make(), body: String = "hi") -> NewMessage {
        NewMessage(id: Identifier.make(), chatID: chat, senderID: sender, body: body, clientMsgID: clientID)
    }

    /// Submits `messages` to a queue of its own and commits them as one batch, so the test
    /// knows what the batch held (the store's own committers batch whatever arrives together).
    func commitAsOneBatch(_ messages: [NewMessage], store: PostgresStore) async throws -> [Result<AppendResult, any Error>] {
        let queue = AppendQueue()
        return try await withThrowingTaskGroup(of: (Int, Result<AppendResult, any Error>).self) { group in
            for (index, message) in messages.enumerated() {
                group.addTask {
                    do { return (index, .success(try await queue.submit(message, traceparent: nil))) } catch { return (index, .failure(error)) }
                }
                // Submitted in this order: the batch's arrival order is the test's.
                while queue.waiting < index + 1 { try await Task.sleep(for: .milliseconds(1)) }
            }
            let batch = try #require(await queue.next(limit: PostgresBatchAppend.limit, maxWait: .seconds(60)))
            #expect(batch.count == messages.count)
            await PostgresBatchAppend.commit(batch, store: store)
            var results = [Result<AppendResult, any Error>?](repeating: nil, count: messages.count)
            for try await (index, result) in group { results[index] = result }
            return results.map { $0! }
        }
    }

    @Test func oneBatchNumbersEachChatDenselyAndPublishesInSeqOrder() async throws {
        try await withPostgresDatabase { database in
            let messages = PostgresMessageRepository(store: database.store)
            let first = try await messages.append(new("a", "u1", "kept"))
            #expect(first.message.seq == 1)

            // The retry of "kept" breaks the batch's first insert (the idempotency key's unique
            // index); the batch is committed again with its keys looked up.
            let batch = [new("a", "u2"), new("b", "u1"), new("a", "u1", "kept"), new("a", "u1"), new("b", "u2", "twice"),
                         new("b", "u2", "twice")]
            let results = try await commitAsOneBatch(batch, store: database.store).map { try $0.get() }
            #expect(results.map(\.created) == [true, true, false, true, true, false])
            #expect(results.map(\.message.seq) == [2, 1, 1, 3, 2, 2])
            #expect(results[2].message == first.message, "a retry gets the stored message")
            #expect(results[5].message == results[4].message, "the same send twice in a batch is stored once")

            #expect(try await messages.lastSeq(chatID: "a") == 3)
            #expect(try await messages.lastSeq(chatID: "b") == 2)
            let historyA = try await messages.history(chatID: "a", query: HistoryQuery(limit: 10)).messages
            #expect(historyA.map(\.seq) == [1, 2, 3] && historyA.map(\.senderID) == ["u1", "u2", "u1"])
            #expect(try await messages.history(chatID: "b", query: HistoryQuery(limit: 10)).messages.map(\.seq) == [1, 2])
            // The senders have read what they sent; a retry moved nothing.
            let summaries = try await messages.summaries(chatIDs: ["a", "b"], userID: "u1")
            #expect(summaries["a"]?.unreadCount == 0 && summaries["a"]?.lastSeq == 3)
            #expect(summaries["b"]?.unreadCount == 1)
            #expect(try await messages.summaries(chatIDs: ["a"], userID: "u2")["a"]?.unreadCount == 1)

            let outbox = try await PostgresOutboxReader(store: database.store).unpublished(limit: 100)
            let published = outbox.map { "\($0.key):\($0.headers[EventHeader.seq] ?? "-")" }
            #expect(published == ["a:1", "a:2", "b:1", "a:3", "b:2"], "one event per new message, in arrival order")
            let events = try outbox.map { try JSONDecoder().decode(ChatEvent.self, from: Data($0.payload.utf8)) }
            #expect(events.map { $0.message?.id } == [first.message.id] + [0, 1, 3, 4].map { results[$0].message.id })
        }
    }

    /// Without the key lookup, a stored send's retry makes the insert fail as a whole: nothing
    /// of the batch is written, so committing it again with the lookup leaves no gap.
    @Test func aRetryBreaksTheInsertWithoutLookupAndNothingIsWritten() async throws {
        try await withPostgresDatabase { database in
            let messages = PostgresMessageRepository(store: database.store)
            _ = try await messages.append(new("a", "u1", "kept"))
            let store = database.store
            let batch = [new("a", "u2"), new("b", "u1"), new("a", "u1", "kept")]
            do {
                _ = try await store.transaction { connection in
                    try await PostgresBatchAppend.write(batch, traceparents: [:], lookingUpStored: false, on: connection,
                                                        logger: store.logger)
                }
                Issue.record("the insert should have broken the idempotency key's unique index")
            } catch {
                #expect(PostgresErrors.isUniqueViolation(error), "\(String(reflecting: error))")
            }
            #expect(try await messages.lastSeq(chatID: "a") == 1)
            #expect(try await messages.lastSeq(chatID: "b") == 0)
            let outbox = try await PostgresOutboxReader(store: store).unpublished(limit: 100)
            #expect(outbox.map(\.key) == ["a"])
        }
    }

    @Test func aSendThatBreaksItsBatchFailsAloneAndLeavesNoGap() async throws {
        try await withPostgresDatabase { database in
            let messages = PostgresMessageRepository(store: database.store)
            // PostgreSQL's text cannot hold U+0000: the batch's statement fails as a whole.
            let batch = [new("a", "u1"), new("a", "u2", body: "nul \u{0000} inside"), new("a", "u3"), new("b", "u1")]
            let results = try await commitAsOneBatch(batch, store: database.store)
            #expect(throws: (any Error).self) { try results[1].get() }
            #expect(try results[0].get().message.seq == 1)
            #expect(try results[2].get().message.seq == 2)
            #expect(try results[3].get().message.seq == 1)
            #expect(try await messages.lastSeq(chatID: "a") == 2)
            let outbox = try await PostgresOutboxReader(store: database.store).unpublished(limit: 100)
            #expect(outbox.map { "\($0.key):\($0.headers[EventHeader.seq] ?? "-")" } == ["a:1", "a:2", "b:1"])
        }
    }

    @Test func sendsFromManyTasksShareBatchesAndStayDense() async throws {
        try await withPostgresDatabase { database in
            let messages = PostgresMessageRepository(store: database.store)
            let results = try await withThrowingTaskGroup(of: AppendResult.self) { group in
                for index in 0..<300 {
                    let key = index % 150  // index and index + 150 are the same send
                    group.addTask { try await messages.append(new("chat\(key % 3)", "u\(key % 11)", "k\(key)")) }
                }
                return try await group.reduce(into: [AppendResult]()) { $0.append($1) }
            }
            // 150 distinct sends, each stored once.
            #expect(results.filter(\.created).count == 150)
            for chat in 0..<3 {
                let created = results.filter { $0.created && $0.message.chatID == "chat\(chat)" }.map(\.message.seq).sorted()
                #expect(created == Array(1...Int64(created.count)))
                #expect(try await messages.lastSeq(chatID: "chat\(chat)") == Int64(created.count))
            }
            let outbox = try await PostgresOutboxReader(store: database.store).unpublished(limit: 1000)
            for chat in 0..<3 {
                let seqs = outbox.filter { $0.key == "chat\(chat)" }.compactMap { $0.headers[EventHeader.seq].flatMap { Int64($0) } }
                #expect(seqs == Array(1...Int64(seqs.count)), "each chat published in seq order")
            }
        }
    }

    /// The committers stop at graceful shutdown (the servers in front have drained by then), so
    /// the store's `run()` returns and the process can exit; later sends get 503.
    @Test func aStoreShutsDownGracefullyAndRefusesLaterSends() async throws {
        try await withPostgresDatabase { database in
            let store = PostgresStore(configuration: database.store.configuration, logger: PostgresTestDatabase.logger)
            let messages = PostgresMessageRepository(store: store)
            let services = ServiceGroup(configuration: .init(services: [store], gracefulShutdownSignals: [], logger: PostgresTestDatabase.logger))
            let stopped = Mutex(false)
            let runner = Task {
                try await services.run()
                stopped.withLock { $0 = true }
            }
            #expect(try await messages.append(new("a", "u1")).message.seq == 1)
            await services.triggerGracefulShutdown()
            let deadline = ContinuousClock.now + .seconds(20)
            while !stopped.withLock({ $0 }), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
            #expect(stopped.withLock { $0 }, "run() returns after graceful shutdown")
            runner.cancel()  // a store that did not stop fails the test instead of hanging it
            _ = try? await runner.value
            await #expect { try await messages.append(new("a", "u1")) } throws: { ($0 as? ChatterError)?.code == .unavailable }
            #expect(try await PostgresMessageRepository(store: database.store).lastSeq(chatID: "a") == 1)
        }
    }
}
