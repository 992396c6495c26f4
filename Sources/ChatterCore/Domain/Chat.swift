/// Whether a chat is a one-to-one conversation or a titled group.
public enum ChatType: String, Sendable, Codable, Hashable {
    case direct
    case group
}

/// A member's standing in a chat. The creator of a group is its `owner`; direct chats have two
/// `member`s.
public enum MemberRole: String, Sendable, Codable, Hashable, Comparable {
    case owner
    case admin
    case member

    /// Owners and admins may manage a group.
    public var canManage: Bool { self != .member }

    private var rank: Int {
        switch self {
        case .owner: 2
        case .admin: 1
        case .member: 0
        }
    }

    public static func < (lhs: MemberRole, rhs: MemberRole) -> Bool { lhs.rank < rhs.rank }
}

public struct Member: Sendable, Hashable, Codable {
    public var userID: String
    public var role: MemberRole
    public var joinedAt: Timestamp

    public init(userID: String, role: MemberRole, joinedAt: Timestamp) {
        self.userID = userID
        self.role = role
        self.joinedAt = joinedAt
    }

    enum CodingKeys: String, CodingKey {
        case userID = "user_id"
        case role
        case joinedAt = "joined_at"
    }
}

/// A chat as the chat role stores it: identity, title and members, without message state.
public struct ChatRecord: Sendable, Hashable {
    public var id: String
    public var type: ChatType
    public var title: String?
    public var createdBy: String
    public var createdAt: Timestamp
    public var members: [Member]

    public init(id: String, type: ChatType, title: String?, createdBy: String, createdAt: Timestamp, members: [Member]) {
        self.id = id
        self.type = type
        self.title = title
        self.createdBy = createdBy
        self.createdAt = createdAt
        self.members = members
    }

    public func member(_ userID: String) -> Member? {
        members.first { $0.userID == userID }
    }
}

/// The message-side state of a chat for one reader, owned by the messaging role.
public struct ChatSummary: Sendable, Hashable {
    public var lastSeq: Int64
    public var unreadCount: Int64
    public var lastMessage: Message?
    public var lastActivityAt: Timestamp?

    public init(lastSeq: Int64 = 0, unreadCount: Int64 = 0, lastMessage: Message? = nil, lastActivityAt: Timestamp? = nil) {
        self.lastSeq = lastSeq
        self.unreadCount = unreadCount
        self.lastMessage = lastMessage
        self.lastActivityAt = lastActivityAt
    }
}

/// The `Chat` object of the public API: the chat role's record joined with the reader's summary.
public struct Chat: Sendable, Hashable, Codable {
    public var id: String
    public var type: ChatType
    public var title: String?
    public var createdAt: Timestamp
    public var members: [Member]
    public var lastSeq: Int64
    public var unreadCount: Int64
    public var lastMessage: Message?

    public init(record: ChatRecord, summary: ChatSummary) {
        self.id = record.id
        self.type = record.type
        self.title = record.title
        self.createdAt = record.createdAt
        self.members = record.members
        self.lastSeq = summary.lastSeq
        self.unreadCount = summary.unreadCount
        self.lastMessage = summary.lastMessage
    }

    enum CodingKeys: String, CodingKey {
        case id, type, title, members
        case createdAt = "created_at"
        case lastSeq = "last_seq"
        case unreadCount = "unread_count"
        case lastMessage = "last_message"
    }
}
