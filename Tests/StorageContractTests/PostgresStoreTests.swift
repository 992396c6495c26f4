import ChatterCore
import Foundation
import Logging
import PostgresNIO
import Synchronization
import Testing

@testable import PostgresStorage

/// What only the PostgreSQL adapter has to prove: dense seq under real concurrency, migrations
/// from several processes, the 503 path while the database is gone, and the relay's wake-up
/// and leader lock.
@Suite(.enabled(if: PostgresTestDatabase.enabled, "needs CHATTER_TEST_DATABASE_URL (scripts/test starts PostgreSQL)"))
struct PostgresStoreTests {
    func send(_ messages: PostgresMessageRepository, _ chat: String, from sender: String, clientID: String = Identifier.make()) async throws -> AppendResult {
        try await messages.append(NewMessage(id: Identifier.make(), chatID: chat, senderID: sender, body: "hi", clientMsgID: clientID))
    }

    @Test func fiftyConcurrentAppendsToOneChatGetOneToFifty() async throws {
        try await withPostgresDatabase { database in
            let messages = PostgresMessageRepository(store: database.store)
            let seqs = try await withThrowingTaskGroup(of: Int64.self) { group in
                for index in 0..<50 {
                    group.addTask { try await send(messages, "busy", from: "u\(index % 7)").message.seq }
                }
                return try await group.reduce(into: [Int64]()) { $0.append($1) }
            }
            #expect(seqs.sorted() == Array(1...50))
            // The outbox holds one message.created per seq, in seq order (id order = commit order per chat).
            let outbox = try await PostgresOutboxReader(store: database.store).unpublished(limit: 1000)
            #expect(outbox.compactMap { $0.headers[EventHeader.seq].flatMap { Int64($0) } } == Array(1...50))
            #expect(try await messages.lastSeq(chatID: "busy") == 50)
        }
    }

    @Test func concurrentRetriesOfOneSendStoreItOnce() async throws {
        try await withPostgresDatabase { database in
            let messages = PostgresMessageRepository(store: database.store)
            let results = try await withThrowingTaskGroup(of: AppendResult.self) { group in
                for _ in 0..<20 { group.addTask { try await send(messages, "c", from: "u1", clientID: "same") } }
                return try await group.reduce(into: [AppendResult]()) { $0.append($1) }
            }
            #expect(results.filter(\.created).count == 1)
            #expect(Set(results.map(\.message)).count == 1)
            #expect(try await messages.lastSeq(chatID: "c") == 1, "a retry leaves no gap")
        }
    }

    @Test func migrationsAreIdempotentAndSafeWhenRunConcurrently() async throws {
        try await withPostgresDatabase(migrate: false) { database in
            // A second "process": its own pool on the same database.
            let other = PostgresStore(configuration: database.store.configuration, logger: PostgresTestDatabase.logger)
            let runner = Task { try await other.run() }
            defer { runner.cancel() }
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await database.store.migrate() }
                group.addTask { try await other.migrate() }
                group.addTask { try await other.migrate() }
                try await group.waitForAll()
            }
            try await database.store.migrate()
            #expect(try await database.store.appliedMigrations() == PostgresMigrations.all.map(\.version))
            try await PostgresUserRepository(store: other).create(makeUser("after"), passwordHash: "h")
        }
    }

    /// A call from a task that is already cancelled (a client that hung up before its handler
    /// reached the store) ends at once with `CancellationError` instead of waiting for ever.
    @Test func aCallFromACancelledTaskEndsWithCancellationError() async throws {
        try await withPostgresDatabase { database in
            let store = database.store
            let ended = Mutex<(any Error)??>(nil)
            let call = Task {
                while !Task.isCancelled { await Task.yield() }
                do {
                    try await store.ping()
                    ended.withLock { $0 = .some(nil) }
                } catch {
                    ended.withLock { $0 = .some(error) }
                }
            }
            call.cancel()
            let deadline = ContinuousClock.now + .seconds(20)
            while ended.withLock({ $0 }) == nil, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            let outcome = try #require(ended.withLock { $0 }, "the call never ended")
            #expect(outcome is CancellationError)
            try await store.ping()
        }
    }

    @Test func aDatabaseThatGoesAwayGives503PromptlyAndWorksAgainAfter() async throws {
        try await withPostgresDatabase(acquireTimeout: .seconds(2)) { database in
            let users = PostgresUserRepository(store: database.store)
            try await phase("before the outage") { try await users.create(makeUser("before"), passwordHash: "h") }
            // The outage: the server refuses new connections to this database and kills the
            // ones the pool holds.
            try await PostgresTestDatabase.admin(database.base) { admin in
                _ = try await admin.query("ALTER DATABASE \(unescaped: database.name) ALLOW_CONNECTIONS false", logger: PostgresTestDatabase.logger).collect()
                _ = try await admin.query(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = \(database.name)",
                    logger: PostgresTestDatabase.logger)
            }
            for _ in 0..<3 {
                let started = ContinuousClock.now
                do {
                    _ = try await users.user(id: "x")
                    Issue.record("a call succeeded while the database was away")
                } catch let error as ChatterError {
                    #expect(error.code == .unavailable)
                } catch {
                    Issue.record("expected ChatterError.unavailable, got \(String(reflecting: error))")
                }
                #expect(ContinuousClock.now - started < .seconds(6), "fails within about the acquire timeout, no hang")
            }
            try await PostgresTestDatabase.admin(database.base) { admin in
                _ = try await admin.query("ALTER DATABASE \(unescaped: database.name) ALLOW_CONNECTIONS true", logger: PostgresTestDatabase.logger).collect()
            }
            let deadline = ContinuousClock.now + .seconds(20)
            var recovered = false
            while ContinuousClock.now < deadline {
                if (try? await database.store.ping()) != nil { recovered = true; break }
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(recovered)
            try await phase("after the outage") {
                #expect(try await users.credentials(username: "before") != nil)
                try await users.create(makeUser("after"), passwordHash: "h")
            }
        }
    }

    @Test func theRelayWakesOnCommitAndOnlyTheLockHolderRelays() async throws {
        try await withPostgresDatabase { database in
            let reader = PostgresOutboxReader(store: database.store)
            let messages = PostgresMessageRepository(store: database.store)
            // Let the listener connect first: it bumps the generation when it starts listening.
            try await Task.sleep(for: .milliseconds(300))
            let seen = reader.generation
            let started = ContinuousClock.now
            async let sent = send(messages, "c", from: "u1")
            await reader.waitForEntries(since: seen, timeout: .seconds(10))
            _ = try await sent
            #expect(ContinuousClock.now - started < .seconds(3), "NOTIFY wakes the relay, not the timeout")

            let log = RecordingEventLog()
            var lockedDatabase = database.base
            lockedDatabase.database = database.name
            try await PostgresTestDatabase.admin(lockedDatabase) { other in
                _ = try await other.query("SELECT pg_advisory_lock(\(PostgresOutboxReader.relayLockKey))", logger: PostgresTestDatabase.logger).collect()
                #expect(try await reader.relayNext(limit: 10, to: log) == 0, "another instance holds the relay lock")
                _ = try await other.query("SELECT pg_advisory_unlock(\(PostgresOutboxReader.relayLockKey))", logger: PostgresTestDatabase.logger).collect()
            }
            #expect(try await reader.relayNext(limit: 10, to: log) == 1)
            #expect(log.published.count == 1)
            #expect(try await reader.unpublished(limit: 10).isEmpty)
            #expect(try await reader.relayNext(limit: 10, to: log) == 0)
        }
    }
}

/// Runs `body`, naming `name` in the failure.
func phase(_ name: String, _ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch {
        Issue.record("\(name): \(String(reflecting: error))")
        throw error
    }
}

/// An event log that only records what is published.
final class RecordingEventLog: EventLog, Sendable {
    private let events = Mutex<[OutgoingEvent]>([])
    var published: [OutgoingEvent] { events.withLock { $0 } }

    func publish(_ events: [OutgoingEvent]) async throws {
        self.events.withLock { $0 += events }
    }

    func subscribe(topic: String, group: String, start: StartPosition) async throws -> any EventSubscription {
        throw ChatterError(.internalError, "not supported by the recording log")
    }
}
