/// Messages, per-chat sequence counters and read markers, owned by the messaging role. Every
/// change also writes its `ChatEvent` to the outbox in the same transaction.
public protocol MessageRepository: Sendable {
    /// In one transaction: assigns the chat's next `seq`, stores the message and its outbox
    /// event, and moves the sender's read marker to it. A message with the same
    /// `(chat, sender, client_msg_id)` already stored is returned instead (`created` false).
    func append(_ message: NewMessage) async throws -> AppendResult
    func message(chatID: String, id: String) async throws -> Message?
    func history(chatID: String, query: HistoryQuery) async throws -> MessagePage
    /// The same page as `history`, as the API writes it.
    func historyJSON(chatID: String, query: HistoryQuery) async throws -> MessagePageJSON
    /// Replaces the body of a live message; `nil` when there is no such live message.
    func edit(chatID: String, id: String, body: String, at: Timestamp) async throws -> Message?
    /// Turns the message into a tombstone; `nil` when there is no such message. Deleting a
    /// tombstone again changes nothing and writes no event.
    func delete(chatID: String, id: String, at: Timestamp) async throws -> Message?
    /// Moves the reader's marker forward to `seq` (never back) and returns the marker now stored.
    func markRead(chatID: String, userID: String, seq: Int64, at: Timestamp) async throws -> Int64
    func lastSeq(chatID: String) async throws -> Int64
    /// Per-chat counters and last message for `userID`; chats without messages are absent.
    func summaries(chatIDs: [String], userID: String) async throws -> [String: ChatSummary]
}

extension MessageRepository {
    /// Writes `history`'s page; a store that can write its rows directly does so instead.
    public func historyJSON(chatID: String, query: HistoryQuery) async throws -> MessagePageJSON {
        MessagePageJSON(try await history(chatID: chatID, query: query))
    }
}
