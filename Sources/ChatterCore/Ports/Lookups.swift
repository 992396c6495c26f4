/// What one role asks of another. In the all-in-one process these are direct calls into the
/// owning role; as separate processes they become the owner's internal API or a projection of
/// its events. Either way, no role reads another role's tables.

/// Answers "is this user a member of this chat, and in what role?" for the messaging role.
public protocol MembershipLookup: Sendable {
    func membership(chatID: String, userID: String) async throws -> Membership?
}

public struct Membership: Sendable, Hashable {
    public var chatType: ChatType
    public var role: MemberRole

    public init(chatType: ChatType, role: MemberRole) {
        self.chatType = chatType
        self.role = role
    }
}

/// Gives the chat role the message-side summary of chats for a reader.
public protocol ChatSummaryLookup: Sendable {
    func summaries(chatIDs: [String], userID: String) async throws -> [String: ChatSummary]
}

/// Lets the chat role check that users it is asked to add exist.
public protocol UserLookup: Sendable {
    func existingUserIDs(_ ids: [String]) async throws -> Set<String>
}

/// Gives the notification role the members of chats and the people a user shares a chat with.
public protocol ChatMembersLookup: Sendable {
    func memberIDs(chatID: String) async throws -> [String]
    /// Everyone who shares at least one chat with `userID`, without `userID`.
    func contactIDs(of userID: String) async throws -> Set<String>
}

/// What the notification role asks of the messaging role: a `send` frame is the HTTP send, and
/// `sync` reads history. Both check membership on the messaging side.
public protocol MessagingOperations: Sendable {
    func send(chatID: String, senderID: String, body: String, clientMsgID: String) async throws -> AppendResult
    func history(chatID: String, userID: String, query: HistoryQuery) async throws -> MessagePage
}
