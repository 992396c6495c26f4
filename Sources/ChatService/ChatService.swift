import ChatterCore

/// Direct and group chats, their members and roles. Owns `chat_*` tables; gets message-side
/// counters from the messaging role and user existence from the auth role.
public struct ChatService: Sendable {
    let chats: any ChatRepository
    let summaries: any ChatSummaryLookup
    let users: any UserLookup
    /// Told about every membership change, so sends never pass on a stale membership.
    let membershipCache: MembershipCache?

    public init(chats: any ChatRepository, summaries: any ChatSummaryLookup, users: any UserLookup, membershipCache: MembershipCache? = nil) {
        self.chats = chats
        self.summaries = summaries
        self.users = users
        self.membershipCache = membershipCache
    }

    public struct Page: Sendable {
        public var chats: [Chat]
        public var nextCursor: String?
    }

    public func create(by userID: String, type rawType: String, title: String?, memberIDs: [String]) async throws -> (chat: Chat, created: Bool) {
        guard let type = ChatType(rawValue: rawType) else {
            throw ChatterError.validation("type must be 'direct' or 'group'")
        }
        let now = Timestamp.now()
        switch type {
        case .direct:
            let others = Set(memberIDs).subtracting([userID])
            guard memberIDs.count == 1, others.count == 1, let other = others.first else {
                throw ChatterError.validation("a direct chat needs exactly one other member in member_ids")
            }
            try await requireUsersExist([other])
            let record = ChatRecord(
                id: Identifier.make(at: now), type: .direct, title: nil, createdBy: userID, createdAt: now,
                members: [Member(userID: userID, role: .member, joinedAt: now), Member(userID: other, role: .member, joinedAt: now)])
            let (stored, created) = try await chats.createDirect(record)
            return (try await view(stored, for: userID), created)
        case .group:
            let title = try Validation.title(title)
            var seen = Set([userID])
            let others = memberIDs.filter { seen.insert($0).inserted }
            guard others.count < Validation.maxGroupMembers else {
                throw ChatterError.validation("a group can have at most \(Validation.maxGroupMembers) members")
            }
            try await requireUsersExist(others)
            let record = ChatRecord(
                id: Identifier.make(at: now), type: .group, title: title, createdBy: userID, createdAt: now,
                members: [Member(userID: userID, role: .owner, joinedAt: now)]
                    + others.map { Member(userID: $0, role: .member, joinedAt: now) })
            try await chats.createGroup(record)
            return (try await view(record, for: userID), true)
        }
    }

    /// The caller's chats, most recent activity first, `limit` at a time.
    public func list(for userID: String, limit: Int, cursor: String?) async throws -> Page {
        let after = try cursor.map(ChatCursor.init(encoded:))
        let memberships = try await chats.memberships(userID: userID)
        let summaryByChat = try await summaries.summaries(chatIDs: memberships.map(\.chatID), userID: userID)
        let ordered = memberships.map { membership in
            ChatCursor(activity: max(membership.createdAt, summaryByChat[membership.chatID]?.lastActivityAt ?? membership.createdAt),
                       chatID: membership.chatID)
        }
        .sorted(by: >)
        .filter { after == nil || $0 < after! }
        let page = Array(ordered.prefix(limit))
        let records = Dictionary(uniqueKeysWithValues: try await chats.chats(ids: page.map(\.chatID)).map { ($0.id, $0) })
        let chatList = page.compactMap { position in
            records[position.chatID].map { Chat(record: $0, summary: summaryByChat[$0.id] ?? ChatSummary()) }
        }
        return Page(chats: chatList, nextCursor: ordered.count > limit ? page.last?.encoded : nil)
    }

    public func chat(_ chatID: String, for userID: String) async throws -> Chat {
        try await view(try await visibleChat(chatID, to: userID), for: userID)
    }

    public func updateTitle(_ chatID: String, title rawTitle: String?, by userID: String) async throws -> Chat {
        let chat = try await visibleChat(chatID, to: userID)
        try requireGroupManager(chat, userID)
        let title = try Validation.title(rawTitle)
        let updated = chat.title == title ? chat : try await chats.updateTitle(chatID: chatID, title: title, at: .now())
        return try await view(updated, for: userID)
    }

    public func addMember(_ chatID: String, userID newUserID: String, role rawRole: String?, by userID: String) async throws -> Member {
        let chat = try await visibleChat(chatID, to: userID)
        try requireGroupManager(chat, userID)
        let role: MemberRole
        switch rawRole ?? "member" {
        case "member": role = .member
        case "admin": role = .admin
        default: throw ChatterError.validation("role must be 'member' or 'admin'")
        }
        if chat.member(newUserID) != nil {
            throw ChatterError(.conflict, "user is already a member of this chat")
        }
        guard chat.members.count < Validation.maxGroupMembers else {
            throw ChatterError.validation("a group can have at most \(Validation.maxGroupMembers) members")
        }
        try await requireUsersExist([newUserID])
        let member = Member(userID: newUserID, role: role, joinedAt: .now())
        defer { membershipCache?.invalidate(chatID: chatID) }
        guard try await chats.upsertMember(chatID: chatID, member: member, at: member.joinedAt) else {
            throw ChatterError(.conflict, "user is already a member of this chat")
        }
        return member
    }

    /// Removes `targetID`; removing yourself is leaving. Admins may remove members, only the
    /// owner may remove admins, and nobody may remove the owner but the owner.
    public func removeMember(_ chatID: String, userID targetID: String, by userID: String) async throws {
        let chat = try await visibleChat(chatID, to: userID)
        guard chat.type == .group else { throw ChatterError.validation("members cannot be removed from a direct chat") }
        guard let actor = chat.member(userID) else { throw ChatterError.notFound("chat") }
        if targetID != userID {
            guard actor.role.canManage else { throw ChatterError.forbidden("only group admins can remove members") }
            guard let target = chat.member(targetID) else { throw ChatterError.notFound("member") }
            guard actor.role > target.role || actor.role == .owner else {
                throw ChatterError.forbidden("only the owner can remove an admin or the owner")
            }
        }
        defer { membershipCache?.invalidate(chatID: chatID) }
        guard try await chats.removeMember(chatID: chatID, userID: targetID, at: .now()) else {
            throw ChatterError.notFound("member")
        }
    }

    /// The chat if `userID` is a member; otherwise 404, so non-members learn nothing.
    func visibleChat(_ chatID: String, to userID: String) async throws -> ChatRecord {
        guard let chat = try await chats.chat(id: chatID), chat.member(userID) != nil else {
            throw ChatterError.notFound("chat")
        }
        return chat
    }

    private func requireGroupManager(_ chat: ChatRecord, _ userID: String) throws {
        guard chat.type == .group else { throw ChatterError.validation("only group chats have a title and managed members") }
        guard chat.member(userID)?.role.canManage == true else {
            throw ChatterError.forbidden("only group admins can do this")
        }
    }

    private func requireUsersExist(_ ids: [String]) async throws {
        guard !ids.isEmpty else { return }
        let found = try await users.existingUserIDs(ids)
        let missing = ids.filter { !found.contains($0) }
        guard missing.isEmpty else {
            throw ChatterError.validation("unknown user id(s): \(missing.prefix(5).joined(separator: ", "))")
        }
    }

    private func view(_ record: ChatRecord, for userID: String) async throws -> Chat {
        let summary = try await summaries.summaries(chatIDs: [record.id], userID: userID)[record.id] ?? ChatSummary()
        return Chat(record: record, summary: summary)
    }
}

/// Answers membership questions for the messaging role from the chat role's own store.
public struct ChatMembershipLookup: MembershipLookup {
    let chats: any ChatRepository
    let cache: MembershipCache?

    /// With a `cache`, give the same one to the `ChatService` that changes memberships.
    public init(chats: any ChatRepository, cache: MembershipCache? = nil) {
        self.chats = chats
        self.cache = cache
    }

    public func membership(chatID: String, userID: String) async throws -> Membership? {
        guard let cache else { return try await chats.membership(chatID: chatID, userID: userID) }
        let (cached, version) = cache.lookup(chatID: chatID, userID: userID)
        if let cached { return cached }
        let membership = try await chats.membership(chatID: chatID, userID: userID)
        if let membership { cache.store(membership, chatID: chatID, userID: userID, version: version) }
        return membership
    }
}

/// Answers the notification role's "who is in this chat / who shares a chat with them".
public struct ChatMembersDirectory: ChatMembersLookup {
    let chats: any ChatRepository

    public init(chats: any ChatRepository) {
        self.chats = chats
    }

    public func memberIDs(chatID: String) async throws -> [String] {
        try await chats.chat(id: chatID)?.members.map(\.userID) ?? []
    }

    public func contactIDs(of userID: String) async throws -> Set<String> {
        let chatIDs = try await chats.memberships(userID: userID).map(\.chatID)
        var contacts = Set(try await chats.chats(ids: chatIDs).flatMap { $0.members.map(\.userID) })
        contacts.remove(userID)
        return contacts
    }
}
