/// Chats and their members, owned by the chat role. Every change also writes its `ChatEvent`
/// to the outbox in the same transaction.
public protocol ChatRepository: Sendable {
    func createGroup(_ chat: ChatRecord) async throws
    /// Creates the direct chat between the two members of `chat`, or returns the one that
    /// already exists for that pair (`created` false).
    func createDirect(_ chat: ChatRecord) async throws -> (chat: ChatRecord, created: Bool)
    func chat(id: String) async throws -> ChatRecord?
    func chats(ids: [String]) async throws -> [ChatRecord]
    /// `userID`'s place in `chatID`, nil when either does not exist or they are not a member.
    /// One row, not the whole chat: every send asks it.
    func membership(chatID: String, userID: String) async throws -> Membership?
    /// Every chat `userID` is a member of, with its creation time.
    func memberships(userID: String) async throws -> [(chatID: String, createdAt: Timestamp)]
    func updateTitle(chatID: String, title: String, at: Timestamp) async throws -> ChatRecord
    /// Adds or re-roles a member; returns false when they were already a member with that role.
    func upsertMember(chatID: String, member: Member, at: Timestamp) async throws -> Bool
    /// Removes a member and, if they owned the group, hands ownership to the longest-standing
    /// remaining admin or member. Returns false when they were not a member.
    func removeMember(chatID: String, userID: String, at: Timestamp) async throws -> Bool
}
