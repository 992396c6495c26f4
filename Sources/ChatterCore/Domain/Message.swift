/// A message in a chat. `seq` is dense and strictly increasing per chat (1, 2, 3, …).
///
/// A deleted message stays as a tombstone: `deleted` is true and `body` is absent.
public struct Message: Sendable, Hashable, Codable {
    public var id: String
    public var chatID: String
    public var seq: Int64
    public var senderID: String
    public var body: String?
    public var clientMsgID: String
    public var createdAt: Timestamp
    public var editedAt: Timestamp?
    public var deleted: Bool

    public init(
        id: String, chatID: String, seq: Int64, senderID: String, body: String?, clientMsgID: String,
        createdAt: Timestamp, editedAt: Timestamp? = nil, deleted: Bool = false
    ) {
        self.id = id
        self.chatID = chatID
        self.seq = seq
        self.senderID = senderID
        self.body = body
        self.clientMsgID = clientMsgID
        self.createdAt = createdAt
        self.editedAt = editedAt
        self.deleted = deleted
    }

    enum CodingKeys: String, CodingKey {
        case id, seq, body, deleted
        case chatID = "chat_id"
        case senderID = "sender_id"
        case clientMsgID = "client_msg_id"
        case createdAt = "created_at"
        case editedAt = "edited_at"
    }
}

/// What a sender asks to append. The store assigns `seq` and `created_at` inside the
/// transaction, so creation times never go backwards as `seq` goes forwards.
public struct NewMessage: Sendable, Hashable {
    public var id: String
    public var chatID: String
    public var senderID: String
    public var body: String
    public var clientMsgID: String

    public init(id: String, chatID: String, senderID: String, body: String, clientMsgID: String) {
        self.id = id
        self.chatID = chatID
        self.senderID = senderID
        self.body = body
        self.clientMsgID = clientMsgID
    }
}

/// The result of an append: the stored message, and whether this call created it or found an
/// earlier send with the same `client_msg_id` (a retry).
public struct AppendResult: Sendable, Hashable {
    public var message: Message
    public var created: Bool

    public init(message: Message, created: Bool) {
        self.message = message
        self.created = created
    }
}

/// One page of history, ascending by `seq`.
public struct MessagePage: Sendable, Hashable {
    public var messages: [Message]
    public var hasMore: Bool

    public init(messages: [Message], hasMore: Bool) {
        self.messages = messages
        self.hasMore = hasMore
    }
}

/// One page of history already written as the API's JSON: `messages` is the array of message
/// objects, ascending by `seq`, byte for byte what `Message.write` gives for each.
///
/// Why: on a 50-message page, making a `String` of every column and a `Message` of every row,
/// only to write them out again, was about half of what the read cost above its fixed part. A
/// store may write the objects straight from its rows (PostgreSQL does); the others build the
/// page from `history`.
public struct MessagePageJSON: Sendable, Hashable {
    public var messages: [UInt8]
    public var count: Int
    public var hasMore: Bool

    public init(messages: [UInt8], count: Int, hasMore: Bool) {
        self.messages = messages
        self.count = count
        self.hasMore = hasMore
    }

    public init(_ page: MessagePage) {
        var writer = JSONWriter(capacity: 64 + 320 * page.messages.count)
        writer.beginArray()
        for message in page.messages { message.write(to: &writer) }
        writer.endArray()
        self.init(messages: writer.bytes, count: page.messages.count, hasMore: page.hasMore)
    }
}

/// Which slice of a chat's history to read.
public struct HistoryQuery: Sendable, Hashable {
    /// Only messages with `seq` below this.
    public var beforeSeq: Int64?
    /// Only messages with `seq` above this; the page then starts right after it.
    public var afterSeq: Int64?
    public var limit: Int

    public init(beforeSeq: Int64? = nil, afterSeq: Int64? = nil, limit: Int) {
        self.beforeSeq = beforeSeq
        self.afterSeq = afterSeq
        self.limit = limit
    }
}
