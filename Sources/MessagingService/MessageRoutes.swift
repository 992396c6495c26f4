import ChatterCore
import ChatterHTTP
import HTTPTypes
import Hummingbird
import Telemetry

/// The messaging role's HTTP surface; every route needs a token.
public struct MessageRoutes: Sendable {
    let service: MessagingService
    let metrics: ChatterMetrics

    public init(service: MessagingService, metrics: ChatterMetrics = ChatterMetrics()) {
        self.service = service
        self.metrics = metrics
    }

    struct SendRequest: Decodable {
        var body: String
        var clientMsgID: String
        enum CodingKeys: String, CodingKey {
            case body
            case clientMsgID = "client_msg_id"
        }
    }

    struct EditRequest: Decodable {
        var body: String
    }

    struct ReadRequest: Decodable {
        var seq: Int64
    }

    /// A page of history, as the public API and the internal one (for `sync`) answer it:
    /// written by `WrittenMessageList`, decoded by the internal API's client.
    struct MessageList: Codable, Sendable {
        var messages: [Message]
        var hasMore: Bool
        enum CodingKeys: String, CodingKey {
            case messages
            case hasMore = "has_more"
        }
    }

    /// `MessageList` from a page the store has already written (`MessagePageJSON`).
    struct WrittenMessageList: Sendable, JSONWritable {
        var page: MessagePageJSON

        func write(to writer: inout JSONWriter) {
            writer.beginObject()
            writer.key("has_more")
            writer.bool(page.hasMore)
            writer.key("messages")
            writer.raw(bytes: page.messages)
            writer.endObject()
        }

        var response: WrittenJSONBody<Self> { WrittenJSONBody(self, capacity: 32 + page.messages.count) }
    }

    public func addRoutes(to router: some RouterMethods<ChatterRequestContext>) {
        router.post("/v1/chats/:chat_id/messages") { request, context in
            let identity = try context.requireIdentity()
            let chatID = try context.pathParameter("chat_id")
            let body = try await request.decode(as: SendRequest.self, context: context)
            let result = try await service.send(chatID: chatID, senderID: identity.userID, body: body.body, clientMsgID: body.clientMsgID)
            if result.created { metrics.messageSent(transport: "http") }
            return WrittenJSONBody(result.message, status: result.created ? .created : .ok)
        }
        router.get("/v1/chats/:chat_id/messages") { request, context in
            let identity = try context.requireIdentity()
            let parameters = request.queryValues
            let query = HistoryQuery(
                beforeSeq: try Validation.sequenceNumber(parameters["before_seq"], field: "before_seq"),
                afterSeq: try Validation.sequenceNumber(parameters["after_seq"], field: "after_seq"),
                limit: try Validation.limit(parameters["limit"], default: 50, range: 1...200))
            let page = try await service.historyJSON(chatID: try context.pathParameter("chat_id"), userID: identity.userID, query: query)
            return WrittenMessageList(page: page).response
        }
        router.patch("/v1/chats/:chat_id/messages/:message_id") { request, context in
            let identity = try context.requireIdentity()
            let body = try await request.decode(as: EditRequest.self, context: context)
            return JSONBody(try await service.edit(
                chatID: try context.pathParameter("chat_id"), messageID: try context.pathParameter("message_id"),
                body: body.body, by: identity.userID))
        }
        router.delete("/v1/chats/:chat_id/messages/:message_id") { _, context in
            let identity = try context.requireIdentity()
            try await service.delete(
                chatID: try context.pathParameter("chat_id"), messageID: try context.pathParameter("message_id"), by: identity.userID)
            return HTTPResponse.Status.noContent
        }
        router.post("/v1/chats/:chat_id/read") { request, context in
            let identity = try context.requireIdentity()
            let body = try await request.decode(as: ReadRequest.self, context: context)
            try await service.markRead(chatID: try context.pathParameter("chat_id"), userID: identity.userID, seq: body.seq)
            return HTTPResponse.Status.noContent
        }
    }
}
