import ChatterCore

/// Send, edit, delete, history and read markers. Owns `messaging_*` tables and the chat's
/// `seq` counter; asks the chat role who is a member.
public struct MessagingService: MessagingOperations {
    let messages: any MessageRepository
    let membership: any MembershipLookup

    public init(messages: any MessageRepository, membership: any MembershipLookup) {
        self.messages = messages
        self.membership = membership
    }

    /// Appends a message. A retry with the same `client_msg_id` returns the first result with
    /// `created` false and changes nothing.
    public func send(chatID: String, senderID: String, body rawBody: String, clientMsgID rawClientID: String) async throws -> AppendResult {
        _ = try await requireMember(chatID, senderID)
        let body = try Validation.messageBody(rawBody)
        let clientMsgID = try Validation.clientMsgID(rawClientID)
        return try await messages.append(
            NewMessage(id: Identifier.make(), chatID: chatID, senderID: senderID, body: body, clientMsgID: clientMsgID))
    }

    public func history(chatID: String, userID: String, query: HistoryQuery) async throws -> MessagePage {
        _ = try await requireMember(chatID, userID)
        return try await messages.history(chatID: chatID, query: query)
    }

    /// `history`'s page as the API writes it, for the HTTP routes.
    public func historyJSON(chatID: String, userID: String, query: HistoryQuery) async throws -> MessagePageJSON {
        _ = try await requireMember(chatID, userID)
        return try await messages.historyJSON(chatID: chatID, query: query)
    }

    public func edit(chatID: String, messageID: String, body rawBody: String, by userID: String) async throws -> Message {
        _ = try await requireMember(chatID, userID)
        guard let message = try await messages.message(chatID: chatID, id: messageID) else { throw ChatterError.notFound("message") }
        guard message.senderID == userID else { throw ChatterError.forbidden("only the sender can edit a message") }
        guard !message.deleted else { throw ChatterError(.conflict, "a deleted message cannot be edited") }
        let body = try Validation.messageBody(rawBody)
        guard let edited = try await messages.edit(chatID: chatID, id: messageID, body: body, at: .now()) else {
            throw ChatterError(.conflict, "a deleted message cannot be edited")
        }
        return edited
    }

    /// Tombstones a message: the sender may, and so may a group's admins and owner.
    public func delete(chatID: String, messageID: String, by userID: String) async throws {
        let member = try await requireMember(chatID, userID)
        guard let message = try await messages.message(chatID: chatID, id: messageID) else { throw ChatterError.notFound("message") }
        let isGroupManager = member.chatType == .group && member.role.canManage
        guard message.senderID == userID || isGroupManager else {
            throw ChatterError.forbidden("only the sender or a group admin can delete a message")
        }
        _ = try await messages.delete(chatID: chatID, id: messageID, at: .now())
    }

    /// Moves the caller's read marker forward; a `seq` past the last message is refused.
    public func markRead(chatID: String, userID: String, seq: Int64) async throws {
        _ = try await requireMember(chatID, userID)
        guard seq >= 0 else { throw ChatterError.validation("seq must be ≥ 0") }
        let last = try await messages.lastSeq(chatID: chatID)
        guard seq <= last else { throw ChatterError.validation("seq \(seq) is past the last message (\(last))") }
        _ = try await messages.markRead(chatID: chatID, userID: userID, seq: seq, at: .now())
    }

    /// Per-reader counters for the chat role (it asks; membership is its own business).
    public func summaries(chatIDs: [String], userID: String) async throws -> [String: ChatSummary] {
        try await messages.summaries(chatIDs: chatIDs, userID: userID)
    }

    private func requireMember(_ chatID: String, _ userID: String) async throws -> Membership {
        guard let member = try await membership.membership(chatID: chatID, userID: userID) else {
            throw ChatterError.notFound("chat")
        }
        return member
    }
}

/// Gives the chat role per-reader counters from the messaging store.
public struct MessagingSummaryLookup: ChatSummaryLookup {
    let messages: any MessageRepository

    public init(messages: any MessageRepository) {
        self.messages = messages
    }

    public func summaries(chatIDs: [String], userID: String) async throws -> [String: ChatSummary] {
        try await messages.summaries(chatIDs: chatIDs, userID: userID)
    }
}
