import ChatterCore

/// What one batch of sends writes, worked out from what the batch transaction read under the
/// chats' row locks: each chat's last `seq`, and the messages of the batch already stored by
/// an earlier attempt.
///
/// A plain value so the rules — dense seqs per chat in arrival order, a retry answered with the
/// stored message, the same send twice in one batch stored once — are tested without a
/// database (`AppendBatchPlanTests`).
struct AppendBatchPlan: Sendable {
    /// A send's idempotency key: the same key is the same message.
    struct Key: Hashable, Sendable {
        var chatID: String
        var senderID: String
        var clientMsgID: String

        init(_ message: NewMessage) {
            self.init(chatID: message.chatID, senderID: message.senderID, clientMsgID: message.clientMsgID)
        }

        init(chatID: String, senderID: String, clientMsgID: String) {
            self.chatID = chatID
            self.senderID = senderID
            self.clientMsgID = clientMsgID
        }
    }

    /// A chat member's read marker.
    struct Reader: Hashable, Sendable {
        var chatID: String
        var userID: String
    }

    /// One answer per send, in the order the sends came.
    private(set) var results: [AppendResult] = []
    /// The messages to insert, in arrival order: per chat, ascending `seq`. Their outbox rows go
    /// in in this order, so the relay publishes each chat's events in `seq` order.
    private(set) var created: [Message] = []
    /// Per chat with new messages, its new last `seq`.
    private(set) var lastSeqs: [String: Int64] = [:]
    /// Per chat and sender, the highest `seq` the sender sent in this batch: the sender has
    /// read what it sent.
    private(set) var readMarkers: [Reader: Int64] = [:]

    /// `lastSeq`: each chat's `seq` before the batch (absent: 0). `stored`: messages already
    /// stored under one of the batch's keys.
    init(messages: [NewMessage], lastSeq: [String: Int64], stored: [Key: Message], at now: Timestamp) {
        var next = lastSeq
        var answered = stored.mapValues { AppendResult(message: $0, created: false) }
        results.reserveCapacity(messages.count)
        for new in messages {
            let key = Key(new)
            if let earlier = answered[key] {
                results.append(earlier)
                continue
            }
            let seq = next[new.chatID, default: 0] + 1
            next[new.chatID] = seq
            let message = Message(id: new.id, chatID: new.chatID, seq: seq, senderID: new.senderID, body: new.body,
                                  clientMsgID: new.clientMsgID, createdAt: now)
            created.append(message)
            lastSeqs[new.chatID] = seq
            readMarkers[Reader(chatID: new.chatID, userID: new.senderID)] = seq
            results.append(AppendResult(message: message, created: true))
            // A second copy of this send later in the batch is a retry of it.
            answered[key] = AppendResult(message: message, created: false)
        }
    }

    /// The chats whose rows the batch locks, in the one order every batch locks them in, so two
    /// batches sharing chats queue instead of deadlocking.
    static func chatsToLock(_ messages: [NewMessage]) -> [String] {
        Set(messages.map(\.chatID)).sorted()
    }

    /// The distinct keys to look for among stored messages.
    static func keys(_ messages: [NewMessage]) -> [Key] {
        var seen = Set<Key>()
        return messages.map(Key.init).filter { seen.insert($0).inserted }
    }
}
