import ChatterCore
import Foundation
import Logging
import SQLiteStorage
import Testing

/// An event log under test: `with` runs a body with a fresh log and a way to get a second handle
/// on the same log (a restart, or another process), and cleans up after it.
struct EventLogBackend: Sendable, CustomTestStringConvertible {
    typealias Body = (any EventLog, @Sendable () async throws -> any EventLog) async throws -> Void
    var name: String
    var with: @Sendable (_ body: Body) async throws -> Void
    var testDescription: String { name }

    static let sqlite = EventLogBackend(name: "sqlite") { body in
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("chatter-log-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let logger = Logger(label: "contract", factory: { _ in SwiftLogNoOpLogHandler() })
        let store = try await SQLiteStore.open(path: directory + "/chatter.sqlite", logger: logger)
        do {
            try await body(SQLiteEventLog(store: store), { SQLiteEventLog(store: store) })
        } catch {
            await store.close()
            throw error
        }
        await store.close()
    }

    #if Kafka
    /// Kafka on an in-process mock cluster (3 brokers; topics of 6 partitions, 3 replicas).
    static let kafka = EventLogBackend(name: "kafka") { body in
        try await withKafkaTestCluster(topics: ["t", "empty"]) { cluster in
            try await body(try cluster.startLog(), { try cluster.startLog() })
        }
    }

    static let all: [EventLogBackend] = [.sqlite, .kafka]
    #else
    static let all: [EventLogBackend] = [.sqlite]
    #endif
}

/// Runs `body` against a fresh log and always cleans up.
func withEventLog(_ backend: EventLogBackend, _ body: EventLogBackend.Body) async throws {
    try await backend.with(body)
}

@Suite(.timeLimit(.minutes(1))) struct EventLogContract {
    func events(_ keys: [String], topic: String = "t") -> [OutgoingEvent] {
        keys.enumerated().map { OutgoingEvent(topic: topic, key: $1, payload: "\($1)#\($0)", headers: ["traceparent": "00-\($0)"]) }
    }

    func read(_ subscription: any EventSubscription, count: Int) async throws -> [EventRecord] {
        var records: [EventRecord] = []
        while records.count < count {
            records += try await subscription.next(maxRecords: count - records.count)
        }
        return records
    }

    @Test(arguments: EventLogBackend.all)
    func keysKeepTheirOrderAndHeadersSurvive(_ backend: EventLogBackend) async throws {
        try await withEventLog(backend) { log, _ in
            let keys = (0..<60).map { "chat-\($0 % 7)" }
            try await log.publish(events(keys))
            let subscription = try await log.subscribe(topic: "t", group: "g", start: .earliest)
            let records = try await read(subscription, count: 60)
            #expect(records.count == 60)
            for key in Set(keys) {
                let payloads = records.filter { $0.key == key }.map(\.payload)
                let expected = keys.enumerated().filter { $0.element == key }.map { "\($0.element)#\($0.offset)" }
                #expect(payloads == expected, "order of \(key)")
                #expect(Set(records.filter { $0.key == key }.map(\.partition)).count == 1, "one partition per key")
            }
            #expect(records.allSatisfy { $0.headers["traceparent"]?.hasPrefix("00-") == true })
        }
    }

    @Test(arguments: EventLogBackend.all)
    func groupsAreIndependentAndResumeFromCommittedOffsets(_ backend: EventLogBackend) async throws {
        try await withEventLog(backend) { log, reopen in
            try await log.publish(events((0..<10).map { "k\($0 % 2)" }))
            let first = try await log.subscribe(topic: "t", group: "a", start: .earliest)
            let firstBatch = try await read(first, count: 4)
            try await first.commit(firstBatch)
            // Another group sees everything.
            #expect(try await read(try await log.subscribe(topic: "t", group: "b", start: .earliest), count: 10).count == 10)
            // Group a, after a restart, resumes after what it committed.
            let resumed = try await reopen().subscribe(topic: "t", group: "a", start: .earliest)
            let rest = try await read(resumed, count: 6)
            let seen = Set((firstBatch + rest).map { "\($0.partition):\($0.offset)" })
            #expect(seen.count == 10)
        }
    }

    @Test(arguments: EventLogBackend.all)
    func latestSkipsTheBacklogAndWaitersWakeOnPublish(_ backend: EventLogBackend) async throws {
        try await withEventLog(backend) { log, _ in
            try await log.publish(events(["old"]))
            let subscription = try await log.subscribe(topic: "t", group: "live", start: .latest)
            async let next = subscription.next(maxRecords: 10)
            try await Task.sleep(for: .milliseconds(50))
            try await log.publish(events(["new"]))
            let records = try await next
            #expect(records.map(\.key) == ["new"])
        }
    }

    @Test(arguments: EventLogBackend.all)
    func aConsumerKeepingUpSeesEveryRecordOnceIncludingOtherProducers(_ backend: EventLogBackend) async throws {
        try await withEventLog(backend) { log, reopen in
            let other = try await reopen()  // a second producer on the same log (another process)
            let subscription = try await log.subscribe(topic: "t", group: "follow", start: .latest)
            var published: [String] = []
            var received: [EventRecord] = []
            for round in 0..<6 {
                let producer = round == 3 ? other : log
                let batch = events((0..<5).map { "k\($0 % 3)" }).enumerated().map { index, event in
                    OutgoingEvent(topic: event.topic, key: event.key, payload: "r\(round)-\(index)")
                }
                try await producer.publish(batch)
                published += batch.map(\.payload)
                // Ask for more than there is, as a live consumer does.
                var got: [EventRecord] = []
                while got.count < 5 { got += try await subscription.next(maxRecords: 100) }
                received += got
            }
            #expect(received.count == published.count)
            #expect(Set(received.map(\.payload)) == Set(published), "every record once")
            for key in ["k0", "k1", "k2"] {
                let offsets = received.filter { $0.key == key }.map(\.offset)
                #expect(offsets == offsets.sorted() && Set(offsets).count == offsets.count, "order of \(key)")
            }
        }
    }

    @Test(arguments: EventLogBackend.all)
    func aWaitingConsumerStopsWhenCancelled(_ backend: EventLogBackend) async throws {
        try await withEventLog(backend) { log, _ in
            let subscription = try await log.subscribe(topic: "empty", group: "g", start: .earliest)
            let task = Task { try await subscription.next(maxRecords: 1) }
            try await Task.sleep(for: .milliseconds(50))
            task.cancel()
            await #expect(throws: CancellationError.self) { _ = try await task.value }
        }
    }
}

/// A fresh SQLite store in a temporary directory for `body`, always closed and removed.
func withTemporarySQLiteStore(_ body: (SQLiteStore, Logger) async throws -> Void) async throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("chatter-store-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let logger = Logger(label: "contract", factory: { _ in SwiftLogNoOpLogHandler() })
    let store = try await SQLiteStore.open(path: directory + "/chatter.sqlite", logger: logger)
    do {
        try await body(store, logger)
    } catch {
        await store.close()
        throw error
    }
    await store.close()
}

@Suite struct SQLiteRetentionTests {
    @Test func trimsOldPublishedRowsAndLogRecordsOnly() async throws {
        try await withTemporarySQLiteStore { store, logger in
            let messages = SQLiteMessageRepository(store: store)
            _ = try await messages.append(NewMessage(id: Identifier.make(), chatID: "c", senderID: "u", body: "kept", clientMsgID: "1"))
            let outbox = SQLiteOutboxReader(store: store)
            let log = SQLiteEventLog(store: store)
            let entries = try await outbox.unpublished(limit: 10)
            try await log.publish(entries.map { OutgoingEvent(topic: $0.topic, key: $0.key, payload: $0.payload) })
            try await outbox.markPublished(ids: entries.map(\.id), at: .now())
            _ = try await messages.append(NewMessage(id: Identifier.make(), chatID: "c", senderID: "u", body: "unpublished", clientMsgID: "2"))

            let retention = SQLiteRetention(store: store, retentionSeconds: 60, logger: logger)
            try await retention.trim(now: .now())  // nothing is old yet
            let subscription = try await log.subscribe(topic: ChatEvent.topic, group: "g", start: .earliest)
            #expect(try await subscription.next(maxRecords: 10).count == 1)

            try await retention.trim(now: Timestamp.now().adding(seconds: 3600))
            #expect(try await outbox.unpublished(limit: 10).count == 1, "unpublished rows are never trimmed")
            let fresh = try await log.subscribe(topic: ChatEvent.topic, group: "h", start: .earliest)
            let afterTrim = try await withThrowingTaskGroup(of: [EventRecord].self) { group in
                group.addTask { try await fresh.next(maxRecords: 10) }
                group.addTask { try await Task.sleep(for: .milliseconds(300)); return [] }
                defer { group.cancelAll() }
                return try await group.next() ?? []
            }
            #expect(afterTrim.isEmpty)
            #expect(try await messages.history(chatID: "c", query: HistoryQuery(limit: 10)).messages.count == 2)
        }
    }
}

@Suite struct SQLiteRelayTests {
    @Test func relayingToTheLogInTheSameFileAppendsAndMarksInOneStep() async throws {
        try await withTemporarySQLiteStore { store, logger in
            let messages = SQLiteMessageRepository(store: store)
            for index in 1...3 {
                _ = try await messages.append(NewMessage(id: Identifier.make(), chatID: "c", senderID: "u", body: "m\(index)", clientMsgID: "\(index)"))
            }
            let outbox = SQLiteOutboxReader(store: store)
            let log = SQLiteEventLog(store: store)
            let subscription = try await log.subscribe(topic: ChatEvent.topic, group: "g", start: .earliest)
            let entries = try await outbox.unpublished(limit: 10)
            #expect(entries.count == 3)
            try await outbox.relay(entries, to: log)
            #expect(try await outbox.unpublished(limit: 10).isEmpty)
            let records = try await subscription.next(maxRecords: 10)
            #expect(records.map(\.payload) == entries.map(\.payload))
            // An empty batch is a no-op.
            try await outbox.relay([], to: log)
            #expect(try await outbox.unpublished(limit: 10).isEmpty)
            // The relay's own step: read, append and mark in one write, oldest first.
            for index in 4...6 {
                _ = try await messages.append(NewMessage(id: Identifier.make(), chatID: "c", senderID: "u", body: "m\(index)", clientMsgID: "\(index)"))
            }
            #expect(try await outbox.relayNext(limit: 2, to: log) == 2)
            #expect(try await outbox.relayNext(limit: 2, to: log) == 1)
            #expect(try await outbox.relayNext(limit: 2, to: log) == 0)
            var later: [EventRecord] = []
            while later.count < 3 { later += try await subscription.next(maxRecords: 10) }
            #expect(later.map(\.offset) == later.map(\.offset).sorted())
            #expect(later.compactMap { $0.headers[EventHeader.seq] } == ["4", "5", "6"])
        }
    }
}

@Suite struct SQLiteInlinePublishTests {
    @Test func rowsArePublishedInTheTransactionThatWroteThem() async throws {
        try await withTemporarySQLiteStore { store, _ in
            let outbox = SQLiteOutboxReader(store: store)
            let log = SQLiteEventLog(store: store)
            outbox.publishInline(to: log, limit: 2)
            let subscription = try await log.subscribe(topic: ChatEvent.topic, group: "g", start: .earliest)
            let messages = SQLiteMessageRepository(store: store)
            let generation = outbox.generation
            _ = try await messages.append(NewMessage(id: Identifier.make(), chatID: "c", senderID: "u", body: "one", clientMsgID: "1"))
            // Already in the log when the append returns, with no relay running.
            #expect(try await outbox.unpublished(limit: 10).isEmpty)
            #expect(outbox.generation == generation, "the relay is not woken for rows already published")
            let records = try await subscription.next(maxRecords: 10)
            #expect(records.count == 1 && records.first?.headers[EventHeader.seq] == "1")

            // More rows than the step takes at once: the rest is left for the relay, which is woken.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 2...6 {
                    group.addTask {
                        _ = try await messages.append(NewMessage(id: Identifier.make(), chatID: "c", senderID: "u", body: "m", clientMsgID: "\(index)"))
                    }
                }
                try await group.waitForAll()
            }
            while try await outbox.relayNext(limit: 10, to: log) > 0 {}
            var later: [EventRecord] = []
            while later.count < 5 { later += try await subscription.next(maxRecords: 10) }
            #expect(later.compactMap { $0.headers[EventHeader.seq] } == ["2", "3", "4", "5", "6"])
        }
    }
}
