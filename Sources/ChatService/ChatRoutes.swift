import ChatterCore
import ChatterHTTP
import HTTPTypes
import Hummingbird

/// The chat role's HTTP surface; every route needs a token.
public struct ChatRoutes: Sendable {
    let service: ChatService

    public init(service: ChatService) {
        self.service = service
    }

    struct CreateRequest: Decodable {
        var type: String
        var title: String?
        var memberIDs: [String]?
        enum CodingKeys: String, CodingKey {
            case type, title
            case memberIDs = "member_ids"
        }
    }

    struct UpdateRequest: Decodable {
        var title: String?
    }

    struct AddMemberRequest: Decodable {
        var userID: String
        var role: String?
        enum CodingKeys: String, CodingKey {
            case userID = "user_id"
            case role
        }
    }

    struct ChatList: Encodable, Sendable {
        var chats: [Chat]
        var nextCursor: String?
        enum CodingKeys: String, CodingKey {
            case chats
            case nextCursor = "next_cursor"
        }
    }

    public func addRoutes(to router: some RouterMethods<ChatterRequestContext>) {
        router.post("/v1/chats") { request, context in
            let identity = try context.requireIdentity()
            let body = try await request.decode(as: CreateRequest.self, context: context)
            let (chat, created) = try await service.create(
                by: identity.userID, type: body.type, title: body.title, memberIDs: body.memberIDs ?? [])
            return JSONBody(chat, status: created ? .created : .ok)
        }
        router.get("/v1/chats") { request, context in
            let identity = try context.requireIdentity()
            let parameters = request.queryValues
            let limit = try Validation.limit(parameters["limit"], default: 50, range: 1...100)
            let page = try await service.list(for: identity.userID, limit: limit, cursor: parameters["cursor"])
            return JSONBody(ChatList(chats: page.chats, nextCursor: page.nextCursor))
        }
        router.get("/v1/chats/:chat_id") { _, context in
            let identity = try context.requireIdentity()
            return JSONBody(try await service.chat(try context.pathParameter("chat_id"), for: identity.userID))
        }
        router.patch("/v1/chats/:chat_id") { request, context in
            let identity = try context.requireIdentity()
            let chatID = try context.pathParameter("chat_id")
            let body = try await request.decode(as: UpdateRequest.self, context: context)
            return JSONBody(try await service.updateTitle(chatID, title: body.title, by: identity.userID))
        }
        router.post("/v1/chats/:chat_id/members") { request, context in
            let identity = try context.requireIdentity()
            let chatID = try context.pathParameter("chat_id")
            let body = try await request.decode(as: AddMemberRequest.self, context: context)
            let member = try await service.addMember(chatID, userID: body.userID, role: body.role, by: identity.userID)
            return JSONBody(member, status: .created)
        }
        router.delete("/v1/chats/:chat_id/members/:user_id") { _, context in
            let identity = try context.requireIdentity()
            try await service.removeMember(
                try context.pathParameter("chat_id"), userID: try context.pathParameter("user_id"), by: identity.userID)
            return HTTPResponse.Status.noContent
        }
    }
}
