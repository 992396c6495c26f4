import ChatterCore
import Testing

@Suite struct MessageRepositoryContract {
    func send(_ store: StoreUnderTest, _ chatID: String, from sender: String, _ body: String, clientID: String? = nil) async throws -> AppendResult {
        try await store.messages.append(NewMessage(
            id: Identifier.make(), chatID: chatID, senderID: sender, body: body, clientMsgID: clientID ?? Identifier.make()))
    }

    @Test(arguments: StoreBackend.all)
    func seqIsDensePerChatAndRetriesAreIdempotent(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            let first = try await send(store, "c1", from: "u1", "hello", clientID: "m1")
            #expect(first.created && first.message.seq == 1 && first.message.body == "hello" && !first.message.deleted)
            #expect(try await send(store, "c1", from: "u2", "hi").message.seq == 2)
            #expect(try await send(store, "c2", from: "u1", "other chat").message.seq == 1)
            let retry = try await send(store, "c1", from: "u1", "hello (resent)", clientID: "m1")
            #expect(!retry.created)
            #expect(retry.message == first.message)
            // The same client id from another sender is a different message.
            #expect(try await send(store, "c1", from: "u2", "mine", clientID: "m1").message.seq == 3)
            #expect(try await store.messages.lastSeq(chatID: "c1") == 3)
            #expect(try await store.messages.lastSeq(chatID: "none") == 0)
            let created = try await store.outbox().filter { $0.kind == .messageCreated }
            #expect(created.map { $0.message?.seq } == [1, 2, 1, 3])
        }
    }

    @Test(arguments: StoreBackend.all)
    func concurrentSendsGetExactlyOneToN(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            let seqs = try await withThrowingTaskGroup(of: Int64.self) { group in
                for index in 0..<50 {
                    group.addTask { try await send(store, "busy", from: "u\(index % 5)", "message \(index)").message.seq }
                }
                return try await group.reduce(into: [Int64]()) { $0.append($1) }
            }
            #expect(seqs.sorted() == Array(1...50))
            let history = try await store.messages.history(chatID: "busy", query: HistoryQuery(limit: 200))
            #expect(history.messages.map(\.seq) == Array(1...50))
            #expect(!history.hasMore)
        }
    }

    /// A client retrying while its first attempt is still in flight (or many at once): one
    /// message is stored, every attempt gets it back, and no seq is burnt.
    @Test(arguments: StoreBackend.all)
    func concurrentRetriesOfOneSendStoreItOnce(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            let results = try await withThrowingTaskGroup(of: AppendResult?.self) { group in
                for index in 0..<40 {
                    group.addTask {
                        // Other senders keep the chat's row lock busy between the retries.
                        if index % 2 == 1 { _ = try await send(store, "retried", from: "other", "noise \(index)"); return nil }
                        return try await send(store, "retried", from: "u1", "once", clientID: "same-client-id")
                    }
                }
                return try await group.reduce(into: [AppendResult]()) { if let result = $1 { $0.append(result) } }
            }
            #expect(results.count == 20)
            #expect(results.filter(\.created).count == 1)
            #expect(Set(results.map(\.message)).count == 1)
            let history = try await store.messages.history(chatID: "retried", query: HistoryQuery(limit: 200))
            #expect(history.messages.map(\.seq) == Array(1...21))
            #expect(history.messages.filter { $0.clientMsgID == "same-client-id" }.count == 1)
            let created = try await store.outbox().filter { $0.kind == .messageCreated && $0.chatID == "retried" }
            #expect(created.count == 21)
        }
    }

    @Test(arguments: StoreBackend.all)
    func historyPaging(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            for index in 1...10 { _ = try await send(store, "c", from: "u1", "m\(index)") }
            func page(before: Int64? = nil, after: Int64? = nil, limit: Int) async throws -> ([Int64], Bool) {
                let result = try await store.messages.history(chatID: "c", query: HistoryQuery(beforeSeq: before, afterSeq: after, limit: limit))
                return (result.messages.map(\.seq), result.hasMore)
            }
            #expect(try await page(limit: 3) == ([8, 9, 10], true))
            #expect(try await page(before: 8, limit: 3) == ([5, 6, 7], true))
            #expect(try await page(before: 3, limit: 3) == ([1, 2], false))
            #expect(try await page(after: 0, limit: 4) == ([1, 2, 3, 4], true))
            #expect(try await page(after: 7, limit: 4) == ([8, 9, 10], false))
            #expect(try await page(before: 6, after: 2, limit: 10) == ([3, 4, 5], false))
            #expect(try await page(before: 9, after: 2, limit: 2) == ([3, 4], true))
            #expect(try await page(limit: 10) == (Array(1...10), false))
            #expect(try await store.messages.history(chatID: "empty", query: HistoryQuery(limit: 5)) == MessagePage(messages: [], hasMore: false))
        }
    }

    /// A store may write its page straight from its rows (PostgreSQL does): it must be the page
    /// `history` gives, written as `Message.write` writes it, byte for byte, for every slice,
    /// tombstone, edit and body that needs escaping.
    @Test(arguments: StoreBackend.all)
    func historyJSONIsHistoryWritten(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            let bodies = ["plain", "quote \" backslash \\ slash / tab \t newline \n", "bell \u{07} esc \u{1B} del \u{7F}",
                          "ünïcödé — 日本語 🚀👩‍👩‍👧", "", "12345", String(repeating: "x", count: 300)]
            var sent: [Message] = []
            for (index, body) in bodies.enumerated() {
                sent.append(try await send(store, "chat \"quoted\" \\ ü", from: "user-\(index % 2)", body,
                                          clientID: body == "12345" ? "67890" : "c\\\(index)").message)
            }
            _ = try await store.messages.edit(chatID: "chat \"quoted\" \\ ü", id: sent[1].id, body: "edited \"again\"", at: .now())
            _ = try await store.messages.delete(chatID: "chat \"quoted\" \\ ü", id: sent[2].id, at: .now())
            let edited = try #require(try await store.messages.edit(chatID: "chat \"quoted\" \\ ü", id: sent[3].id, body: "x", at: .now()))
            _ = try await store.messages.delete(chatID: "chat \"quoted\" \\ ü", id: edited.id, at: .now())
            for chatID in ["chat \"quoted\" \\ ü", "empty"] {
                for query in [HistoryQuery(limit: 50), HistoryQuery(limit: 2), HistoryQuery(beforeSeq: 4, limit: 2),
                              HistoryQuery(afterSeq: 0, limit: 4), HistoryQuery(afterSeq: 2, limit: 50),
                              HistoryQuery(beforeSeq: 6, afterSeq: 1, limit: 3), HistoryQuery(beforeSeq: 1, limit: 5),
                              HistoryQuery(limit: 1), HistoryQuery(afterSeq: 6, limit: 1)] {
                    let page = try await store.messages.history(chatID: chatID, query: query)
                    let written = try await store.messages.historyJSON(chatID: chatID, query: query)
                    #expect(String(decoding: written.messages, as: UTF8.self) == String(decoding: MessagePageJSON(page).messages, as: UTF8.self),
                            "\(chatID) \(query)")
                    #expect(written.count == page.messages.count && written.hasMore == page.hasMore, "\(chatID) \(query)")
                }
            }
        }
    }

    @Test(arguments: StoreBackend.all)
    func editAndDeleteKeepTombstones(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            let message = try await send(store, "c", from: "u1", "original").message
            let edited = try #require(try await store.messages.edit(chatID: "c", id: message.id, body: "changed", at: .now()))
            #expect(edited.body == "changed" && edited.editedAt != nil && edited.seq == message.seq)
            #expect(try await store.messages.edit(chatID: "other", id: message.id, body: "x", at: .now()) == nil)
            let deleted = try #require(try await store.messages.delete(chatID: "c", id: message.id, at: .now()))
            #expect(deleted.deleted && deleted.body == nil && deleted.seq == message.seq)
            #expect(try await store.messages.edit(chatID: "c", id: message.id, body: "revive", at: .now()) == nil)
            #expect(try await store.messages.delete(chatID: "c", id: message.id, at: .now())?.deleted == true)
            #expect(try await store.messages.delete(chatID: "c", id: "missing", at: .now()) == nil)
            let stored = try #require(try await store.messages.message(chatID: "c", id: message.id))
            #expect(stored.deleted && stored.body == nil)
            #expect(try await store.messages.history(chatID: "c", query: HistoryQuery(limit: 10)).messages == [stored])
            let kinds = try await store.outbox().map(\.kind)
            #expect(kinds == [.messageCreated, .messageUpdated, .messageDeleted])
        }
    }

    @Test(arguments: StoreBackend.all)
    func readMarkersAndSummaries(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            _ = try await send(store, "c", from: "u1", "one")
            let two = try await send(store, "c", from: "u2", "two").message
            _ = try await send(store, "c", from: "u2", "three")
            let four = try await send(store, "c", from: "u2", "four").message
            _ = try await store.messages.delete(chatID: "c", id: two.id, at: .now())

            var summaries = try await store.messages.summaries(chatIDs: ["c", "none"], userID: "u1")
            #expect(summaries["none"] == nil)
            let summary = try #require(summaries["c"])
            #expect(summary.lastSeq == 4)
            #expect(summary.lastMessage == four)
            #expect(summary.unreadCount == 2, "u1's own message is read by sending it, the deleted one is not counted")
            // The sender has read up to their own latest message.
            #expect(try await store.messages.summaries(chatIDs: ["c"], userID: "u2")["c"]?.unreadCount == 0)

            #expect(try await store.messages.markRead(chatID: "c", userID: "u1", seq: 3, at: .now()) == 3)
            #expect(try await store.messages.markRead(chatID: "c", userID: "u1", seq: 2, at: .now()) == 3, "markers never move back")
            summaries = try await store.messages.summaries(chatIDs: ["c"], userID: "u1")
            #expect(summaries["c"]?.unreadCount == 1)
            let reads = try await store.outbox().filter { $0.kind == .readUpdated }
            #expect(reads.count == 1 && reads.first?.seq == 3 && reads.first?.userID == "u1")
        }
    }
}
