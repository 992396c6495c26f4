import ChatterCore
import ChatterHTTP
import Hummingbird

/// What other role processes ask the chat role (`/internal/v1/...`, behind the internal token):
/// messaging asks who may write, notification asks who to deliver to and who sees presence.
public struct ChatInternalRoutes: Sendable {
    let membership: any MembershipLookup
    let members: any ChatMembersLookup

    public init(membership: any MembershipLookup, members: any ChatMembersLookup) {
        self.membership = membership
        self.members = members
    }

    struct MembershipAnswer: Codable, Sendable {
        var chatType: ChatType?
        var role: MemberRole?

        enum CodingKeys: String, CodingKey {
            case chatType = "chat_type"
            case role
        }
    }

    struct UserIDs: Codable, Sendable {
        var ids: [String]
    }

    public func addRoutes(to router: some RouterMethods<ChatterRequestContext>) {
        // 200 with nulls for "not a member": a 404 could also mean a wrong upstream.
        router.get("/chats/:chat_id/members/:user_id") { _, context in
            let found = try await membership.membership(
                chatID: try context.pathParameter("chat_id"), userID: try context.pathParameter("user_id"))
            return JSONBody(MembershipAnswer(chatType: found?.chatType, role: found?.role))
        }
        router.get("/chats/:chat_id/member-ids") { _, context in
            JSONBody(UserIDs(ids: try await members.memberIDs(chatID: try context.pathParameter("chat_id"))))
        }
        router.get("/users/:user_id/contacts") { _, context in
            JSONBody(UserIDs(ids: try await members.contactIDs(of: try context.pathParameter("user_id")).sorted()))
        }
    }
}

/// The chat role as seen from another process: memberships for messaging (cached like in the
/// all-in-one process; the cache follows the chat role's `chat.*`/`member.*` events from the
/// log instead of direct invalidation), members and contacts for notification.
public struct RemoteChatDirectory: MembershipLookup, ChatMembersLookup {
    let client: InternalAPIClient
    let cache: MembershipCache?

    public init(client: InternalAPIClient, cache: MembershipCache? = nil) {
        self.client = client
        self.cache = cache
    }

    public func membership(chatID: String, userID: String) async throws -> Membership? {
        let (cached, version) = cache?.lookup(chatID: chatID, userID: userID) ?? (nil, 0)
        if let cached { return cached }
        let answer = try await client.call(
            .get, "\(InternalAPI.pathPrefix)/chats/\(chatID.pathEscaped)/members/\(userID.pathEscaped)",
            as: ChatInternalRoutes.MembershipAnswer.self)
        guard let chatType = answer.chatType, let role = answer.role else { return nil }
        let membership = Membership(chatType: chatType, role: role)
        cache?.store(membership, chatID: chatID, userID: userID, version: version)
        return membership
    }

    public func memberIDs(chatID: String) async throws -> [String] {
        try await client.call(.get, "\(InternalAPI.pathPrefix)/chats/\(chatID.pathEscaped)/member-ids", as: ChatInternalRoutes.UserIDs.self).ids
    }

    public func contactIDs(of userID: String) async throws -> Set<String> {
        Set(try await client.call(.get, "\(InternalAPI.pathPrefix)/users/\(userID.pathEscaped)/contacts", as: ChatInternalRoutes.UserIDs.self).ids)
    }
}
