import ChatterCore
import Foundation
import Logging
import MessagingService
import SQLiteStorage
import Synchronization
import Testing

/// The history page cache over a real store, with chat versions on each backend: what it
/// answers from memory, and that no instance ever serves a page missing a change another
/// instance has answered for.
@Suite struct HistoryCacheTests {
    static let newest = HistoryQuery(limit: 50)

    @Test(arguments: ChatVersionsBackend.all)
    func theNewestPageIsServedFromMemoryUntilTheChatChanges(_ backend: ChatVersionsBackend) async throws {
        try await withMessages { store in
            try await backend.run { versions, _, _ in
                let counted = CountingMessages(store)
                let cache = CachedHistoryRepository(counted, versions: versions, budgetBytes: 1 << 20)
                _ = try await send(cache, "c1", "one")
                let first = try await cache.historyJSON(chatID: "c1", query: Self.newest)
                #expect(try await cache.historyJSON(chatID: "c1", query: Self.newest) == first)
                #expect(counted.pageReads == 1, "the second read came from memory")

                let sent = try await send(cache, "c1", "two")
                let second = try await cache.historyJSON(chatID: "c1", query: Self.newest)
                #expect(second.count == 2 && counted.pageReads == 2)
                #expect(second == (try await store.historyJSON(chatID: "c1", query: Self.newest)), "the same bytes as the store's")

                _ = try await cache.edit(chatID: "c1", id: sent.message.id, body: "two, edited", at: .now())
                #expect(try await cache.historyJSON(chatID: "c1", query: Self.newest) == (try await store.historyJSON(chatID: "c1", query: Self.newest)))
                _ = try await cache.delete(chatID: "c1", id: sent.message.id, at: .now())
                #expect(try await cache.historyJSON(chatID: "c1", query: Self.newest) == (try await store.historyJSON(chatID: "c1", query: Self.newest)))
                #expect(counted.pageReads == 4)
            }
        }
    }

    /// Two messaging instances over one store: each change made through one is in the very
    /// next page the other serves, though that one had the chat's page in memory.
    @Test(arguments: ChatVersionsBackend.all)
    func anInstanceNeverServesAPageMissingAnotherInstancesChange(_ backend: ChatVersionsBackend) async throws {
        try await withMessages { store in
            try await backend.run { versionsA, versionsB, _ in
                let a = CachedHistoryRepository(store, versions: versionsA, budgetBytes: 1 << 20)
                let b = CachedHistoryRepository(store, versions: versionsB, budgetBytes: 1 << 20)
                for round in 0..<10 {
                    _ = try await b.historyJSON(chatID: "shared", query: Self.newest)  // b holds the page
                    let sent = try await send(a, "shared", "round \(round)")
                    let page = try await b.historyJSON(chatID: "shared", query: Self.newest)
                    #expect(page.count == round + 1, "round \(round): b served a page without a's message")
                    #expect(String(decoding: page.messages, as: UTF8.self).contains(sent.message.id))
                }
                let last = try await send(b, "shared", "from b")
                _ = try await a.edit(chatID: "shared", id: last.message.id, body: "edited on b's message through a", at: .now())
                #expect(String(decoding: try await b.historyJSON(chatID: "shared", query: Self.newest).messages, as: UTF8.self)
                    .contains("edited on b's message through a"))
            }
        }
    }

    /// A send that committed but could not replace the version is not acknowledged (503); the
    /// client's retry finds the stored message and replaces the version before answering.
    @Test(arguments: ChatVersionsBackend.all)
    func aRetryAfterAFailedVersionChangeMakesTheMessageVisible(_ backend: ChatVersionsBackend) async throws {
        try await withMessages { store in
            try await backend.run { versionsA, versionsB, _ in
                let flaky = FlakyVersions(versionsA)
                let a = CachedHistoryRepository(store, versions: flaky, budgetBytes: 1 << 20)
                let b = CachedHistoryRepository(store, versions: versionsB, budgetBytes: 1 << 20)
                _ = try await send(a, "c1", "before")
                _ = try await b.historyJSON(chatID: "c1", query: Self.newest)
                flaky.failNextBump()
                let message = NewMessage(id: Identifier.make(), chatID: "c1", senderID: "u1", body: "retried", clientMsgID: "m-retry")
                await #expect(throws: ChatterError.self) { try await a.append(message) }
                let retry = try await a.append(message)
                #expect(!retry.created, "the first attempt had committed")
                let page = try await b.historyJSON(chatID: "c1", query: Self.newest)
                #expect(page.count == 2, "acknowledged by the retry, so in the next page")
            }
        }
    }

    /// Concurrent sends share calls to the versions (one per batch, not one per send), and each
    /// send returns only once its own chat's version was replaced — or fails with the call.
    @Test func concurrentChangesShareTheirVersionCalls() async throws {
        try await withMessages { store in
            let recorder = RecordingVersions(InMemoryChatVersions())
            let cache = CachedHistoryRepository(store, versions: recorder, budgetBytes: 1 << 20)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<60 {
                    group.addTask {
                        let chatID = "chat-\(index)"  // one send per chat: only its own call replaces it
                        _ = try await send(cache, chatID, "message \(index)")
                        #expect(recorder.replaced(chatID), "\(chatID)'s send returned before its version was replaced")
                    }
                }
                try await group.waitForAll()
            }
            #expect(recorder.calls >= 1 && recorder.calls < 60, "\(recorder.calls) calls for 60 sends")

            recorder.failing = true
            let results = await withTaskGroup(of: Bool.self) { group in
                for index in 0..<10 {
                    group.addTask { (try? await send(cache, "chat-\(index)", "lost version")) != nil }
                }
                return await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(results == Array(repeating: false, count: 10), "every send whose version call failed answers an error")
            recorder.failing = false
            _ = try await send(cache, "chat-0", "after")
        }
    }

    @Test func pagesFromASeqAndReadsWithoutAVersionGoToTheStore() async throws {
        try await withMessages { store in
            let counted = CountingMessages(store)
            let versions = InMemoryChatVersions()
            let cache = CachedHistoryRepository(counted, versions: versions, budgetBytes: 1 << 20)
            for index in 0..<5 { _ = try await send(cache, "c1", "m\(index)") }
            for query in [HistoryQuery(afterSeq: 2, limit: 50), HistoryQuery(beforeSeq: 4, limit: 50)] {
                _ = try await cache.historyJSON(chatID: "c1", query: query)
                #expect(try await cache.historyJSON(chatID: "c1", query: query) == (try await store.historyJSON(chatID: "c1", query: query)))
            }
            #expect(counted.pageReads == 4, "pages from a seq are never cached")
            _ = try await cache.historyJSON(chatID: "c1", query: HistoryQuery(limit: 2))
            _ = try await cache.historyJSON(chatID: "c1", query: HistoryQuery(limit: 3))
            #expect(counted.pageReads == 6, "another limit is another page")

            let down = FlakyVersions(versions)
            down.down = true
            let blind = CachedHistoryRepository(counted, versions: down, budgetBytes: 1 << 20)
            let page = try await blind.historyJSON(chatID: "c1", query: Self.newest)
            _ = try await blind.historyJSON(chatID: "c1", query: Self.newest)
            #expect(page.count == 5 && counted.pageReads == 8, "with no version to check against, every read goes to the store")
        }
    }

    @Test func theLeastRecentlyReadPagesGoFirstWhenTheBudgetIsFull() async throws {
        try await withMessages { store in
            let counted = CountingMessages(store)
            for chat in ["c1", "c2", "c3", "c4"] {
                for index in 0..<20 { _ = try await send(store, chat, "message \(index) " + String(repeating: "x", count: 100)) }
            }
            let pageBytes = try await store.historyJSON(chatID: "c1", query: Self.newest).messages.count
            // Room for three pages, not four.
            let cache = CachedHistoryRepository(counted, versions: InMemoryChatVersions(), budgetBytes: pageBytes * 4 - pageBytes / 2)
            for chat in ["c1", "c2", "c3"] { _ = try await cache.historyJSON(chatID: chat, query: Self.newest) }
            _ = try await cache.historyJSON(chatID: "c1", query: Self.newest)  // c1 is now the most recent
            #expect(counted.pageReads == 3)
            _ = try await cache.historyJSON(chatID: "c4", query: Self.newest)  // over budget: c2 (and c3) go
            #expect(counted.pageReads == 4)
            _ = try await cache.historyJSON(chatID: "c1", query: Self.newest)
            #expect(counted.pageReads == 4, "the most recently read page stayed")
            _ = try await cache.historyJSON(chatID: "c2", query: Self.newest)
            #expect(counted.pageReads == 5, "the least recently read page was dropped")
        }
    }
}

private func send(_ messages: any MessageRepository, _ chatID: String, _ body: String) async throws -> AppendResult {
    try await messages.append(NewMessage(id: Identifier.make(), chatID: chatID, senderID: "u1", body: body, clientMsgID: Identifier.make()))
}

/// A fresh SQLite message store for `body`, removed afterwards.
private func withMessages(_ body: (any MessageRepository) async throws -> Void) async throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("chatter-history-cache-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let store = try await SQLiteStore.open(path: directory + "/chatter.sqlite", logger: Logger(label: "history-cache", factory: { _ in SwiftLogNoOpLogHandler() }))
    do {
        try await body(SQLiteMessageRepository(store: store))
    } catch {
        await store.close()
        throw error
    }
    await store.close()
}

/// Versions whose next bump fails, or that are down altogether, as Redis can be.
private final class FlakyVersions: ChatVersions {
    let inner: any ChatVersions
    private let failing = Mutex(false)
    private let isDown = Mutex(false)

    init(_ inner: any ChatVersions) { self.inner = inner }

    var down: Bool {
        get { isDown.withLock { $0 } }
        set { isDown.withLock { $0 = newValue } }
    }

    func failNextBump() { failing.withLock { $0 = true } }

    func current(chatID: String) async throws -> String {
        if down { throw ChatterError.unavailable("the cache", detail: "test") }
        return try await inner.current(chatID: chatID)
    }

    func bump(chatIDs: [String]) async throws {
        if down || failing.withLock({ state in defer { state = false }; return state }) {
            throw ChatterError.unavailable("the cache", detail: "test")
        }
        try await inner.bump(chatIDs: chatIDs)
    }
}

/// Versions that take a while to answer, remembering which chats they replaced and how many
/// calls it took; or failing every call.
private final class RecordingVersions: ChatVersions {
    let inner: any ChatVersions
    private let state = Mutex((calls: 0, replaced: Set<String>(), failing: false))

    init(_ inner: any ChatVersions) { self.inner = inner }

    var calls: Int { state.withLock { $0.calls } }
    func replaced(_ chatID: String) -> Bool { state.withLock { $0.replaced.contains(chatID) } }
    var failing: Bool {
        get { state.withLock { $0.failing } }
        set { state.withLock { $0.failing = newValue } }
    }

    func current(chatID: String) async throws -> String { try await inner.current(chatID: chatID) }

    func bump(chatIDs: [String]) async throws {
        try await Task.sleep(for: .milliseconds(5))  // a round trip, so changes pile up behind it
        if failing { throw ChatterError.unavailable("the cache", detail: "test") }
        try await inner.bump(chatIDs: chatIDs)
        state.withLock { state in
            state.calls += 1
            state.replaced.formUnion(chatIDs)
        }
    }
}

/// The store, counting the pages read from it.
private final class CountingMessages: MessageRepository {
    let inner: any MessageRepository
    private let reads = Atomic(0)

    init(_ inner: any MessageRepository) { self.inner = inner }

    var pageReads: Int { reads.load(ordering: .relaxed) }

    func historyJSON(chatID: String, query: HistoryQuery) async throws -> MessagePageJSON {
        reads.add(1, ordering: .relaxed)
        return try await inner.historyJSON(chatID: chatID, query: query)
    }

    func append(_ message: NewMessage) async throws -> AppendResult { try await inner.append(message) }
    func message(chatID: String, id: String) async throws -> Message? { try await inner.message(chatID: chatID, id: id) }
    func history(chatID: String, query: HistoryQuery) async throws -> MessagePage { try await inner.history(chatID: chatID, query: query) }
    func edit(chatID: String, id: String, body: String, at: Timestamp) async throws -> Message? {
        try await inner.edit(chatID: chatID, id: id, body: body, at: at)
    }
    func delete(chatID: String, id: String, at: Timestamp) async throws -> Message? { try await inner.delete(chatID: chatID, id: id, at: at) }
    func markRead(chatID: String, userID: String, seq: Int64, at: Timestamp) async throws -> Int64 {
        try await inner.markRead(chatID: chatID, userID: userID, seq: seq, at: at)
    }
    func lastSeq(chatID: String) async throws -> Int64 { try await inner.lastSeq(chatID: chatID) }
    func summaries(chatIDs: [String], userID: String) async throws -> [String: ChatSummary] {
        try await inner.summaries(chatIDs: chatIDs, userID: userID)
    }
}
