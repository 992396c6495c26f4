import Foundation

/// An event about a chat, written to the outbox in the same transaction as the change it
/// describes and later published to the event log (keyed by `chat_id`, so per-chat order holds).
///
/// Its JSON is exactly the inner `event` object of the WebSocket protocol, so the notification
/// role can forward it without re-encoding.
public struct ChatEvent: Sendable, Hashable, Codable {
    public struct Kind: Sendable, Hashable, Codable, CustomStringConvertible {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public init(from decoder: any Decoder) throws {
            rawValue = try decoder.singleValueContainer().decode(String.self)
        }
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(rawValue)
        }
        public var description: String { rawValue }

        public static let messageCreated = Kind("message.created")
        public static let messageUpdated = Kind("message.updated")
        public static let messageDeleted = Kind("message.deleted")
        public static let chatCreated = Kind("chat.created")
        public static let chatUpdated = Kind("chat.updated")
        public static let memberAdded = Kind("member.added")
        public static let memberRemoved = Kind("member.removed")
        public static let readUpdated = Kind("read.updated")
    }

    /// The chat as members see it in `chat.*` events (no per-reader counters).
    public struct ChatSnapshot: Sendable, Hashable, Codable {
        public var id: String
        public var type: ChatType
        public var title: String?
        public var createdAt: Timestamp
        public var members: [Member]

        public init(_ record: ChatRecord) {
            id = record.id
            type = record.type
            title = record.title
            createdAt = record.createdAt
            members = record.members
        }

        enum CodingKeys: String, CodingKey {
            case id, type, title, members
            case createdAt = "created_at"
        }
    }

    public var kind: Kind
    public var chatID: String
    public var occurredAt: Timestamp
    public var message: Message?
    public var chat: ChatSnapshot?
    public var member: Member?
    /// The user a `member.removed` or `read.updated` event is about.
    public var userID: String?
    /// The read marker of a `read.updated` event.
    public var seq: Int64?

    public init(
        kind: Kind, chatID: String, occurredAt: Timestamp, message: Message? = nil, chat: ChatSnapshot? = nil,
        member: Member? = nil, userID: String? = nil, seq: Int64? = nil
    ) {
        self.kind = kind
        self.chatID = chatID
        self.occurredAt = occurredAt
        self.message = message
        self.chat = chat
        self.member = member
        self.userID = userID
        self.seq = seq
    }

    enum CodingKeys: String, CodingKey {
        case kind, message, chat, member, seq
        case chatID = "chat_id"
        case occurredAt = "occurred_at"
        case userID = "user_id"
    }

    /// The topic every chat event goes to; one topic keeps events of one chat in one order.
    public static let topic = "chatter.chat-events"

    public func encodedJSON() throws -> String {
        // Message and read events (one per send, read marker) are written by hand; chat and
        // member events, rare and nested, go through the encoder. Both give sorted keys.
        if chat == nil, member == nil {
            var writer = JSONWriter()
            writer.beginObject()
            writer.field("chat_id", chatID)
            writer.key("kind")
            writer.string(kind.rawValue)
            if let message {
                writer.key("message")
                message.write(to: &writer)
            }
            writer.field("occurred_at", occurredAt)
            if let seq { writer.field("seq", seq) }
            if let userID { writer.field("user_id", userID) }
            writer.endObject()
            return writer.text
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}
