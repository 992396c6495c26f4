import ChatterCore
import ChatterHTTP
import Hummingbird

/// What other role processes ask the messaging role (`/internal/v1/...`, behind the internal
/// token): chat asks for per-reader summaries, notification sends `send` frames and reads
/// history for `sync`. Membership is checked here, by the owner, as for public calls.
public struct MessagingInternalRoutes: Sendable {
    let service: MessagingService

    public init(service: MessagingService) {
        self.service = service
    }

    struct SummariesRequest: Codable, Sendable {
        var chatIDs: [String]
        var userID: String
        enum CodingKeys: String, CodingKey {
            case chatIDs = "chat_ids"
            case userID = "user_id"
        }
    }

    struct Summary: Codable, Sendable {
        var lastSeq: Int64
        var unreadCount: Int64
        var lastMessage: Message?
        var lastActivityAt: Timestamp?
        enum CodingKeys: String, CodingKey {
            case lastSeq = "last_seq"
            case unreadCount = "unread_count"
            case lastMessage = "last_message"
            case lastActivityAt = "last_activity_at"
        }
    }

    struct SummariesAnswer: Codable, Sendable {
        var summaries: [String: Summary]
    }

    struct SendRequest: Codable, Sendable {
        var senderID: String
        var body: String
        var clientMsgID: String
        enum CodingKeys: String, CodingKey {
            case senderID = "sender_id"
            case body
            case clientMsgID = "client_msg_id"
        }
    }

    struct SendAnswer: Codable, Sendable {
        var message: Message
        var created: Bool
    }

    public func addRoutes(to router: some RouterMethods<ChatterRequestContext>) {
        router.post("/summaries") { request, context in
            let body = try await request.decode(as: SummariesRequest.self, context: context)
            guard body.chatIDs.count <= 1000 else { throw ChatterError.validation("at most 1000 chat ids") }
            let summaries = try await service.summaries(chatIDs: body.chatIDs, userID: body.userID)
            return JSONBody(SummariesAnswer(summaries: summaries.mapValues {
                Summary(lastSeq: $0.lastSeq, unreadCount: $0.unreadCount, lastMessage: $0.lastMessage, lastActivityAt: $0.lastActivityAt)
            }))
        }
        router.post("/chats/:chat_id/messages") { request, context in
            let body = try await request.decode(as: SendRequest.self, context: context)
            let result = try await service.send(
                chatID: try context.pathParameter("chat_id"), senderID: body.senderID, body: body.body, clientMsgID: body.clientMsgID)
            return JSONBody(SendAnswer(message: result.message, created: result.created))
        }
        router.get("/chats/:chat_id/messages") { request, context in
            let parameters = request.queryValues
            guard let userID = parameters["user_id"] else { throw ChatterError.validation("user_id is required") }
            func seq(_ name: String) throws -> Int64? {
                guard let raw = parameters[name] else { return nil }
                guard let value = Int64(raw), value >= 0 else { throw ChatterError.validation("\(name) must be an integer ≥ 0") }
                return value
            }
            let limit = Int(parameters["limit"] ?? "50") ?? 50
            guard (1...1000).contains(limit) else { throw ChatterError.validation("limit must be 1-1000") }
            let page = try await service.historyJSON(
                chatID: try context.pathParameter("chat_id"), userID: userID,
                query: HistoryQuery(beforeSeq: try seq("before"), afterSeq: try seq("after"), limit: limit))
            return MessageRoutes.WrittenMessageList(page: page).response
        }
    }
}

/// The messaging role as seen from another process: summaries for the chat role, send and
/// history for the notification role.
public struct RemoteMessaging: ChatSummaryLookup, MessagingOperations {
    let client: InternalAPIClient

    public init(client: InternalAPIClient) {
        self.client = client
    }

    public func summaries(chatIDs: [String], userID: String) async throws -> [String: ChatSummary] {
        guard !chatIDs.isEmpty else { return [:] }
        let answer = try await client.call(
            .post, "\(InternalAPI.pathPrefix)/summaries",
            body: MessagingInternalRoutes.SummariesRequest(chatIDs: chatIDs, userID: userID),
            as: MessagingInternalRoutes.SummariesAnswer.self)
        return answer.summaries.mapValues {
            ChatSummary(lastSeq: $0.lastSeq, unreadCount: $0.unreadCount, lastMessage: $0.lastMessage, lastActivityAt: $0.lastActivityAt)
        }
    }

    /// Not retried on another instance once sent (POST); a lost answer is a 503 and the
    /// client's retry with the same `client_msg_id` returns the stored message.
    public func send(chatID: String, senderID: String, body: String, clientMsgID: String) async throws -> AppendResult {
        let answer = try await client.call(
            .post, "\(InternalAPI.pathPrefix)/chats/\(chatID.pathEscaped)/messages",
            body: MessagingInternalRoutes.SendRequest(senderID: senderID, body: body, clientMsgID: clientMsgID),
            as: MessagingInternalRoutes.SendAnswer.self)
        return AppendResult(message: answer.message, created: answer.created)
    }

    public func history(chatID: String, userID: String, query: HistoryQuery) async throws -> MessagePage {
        var path = "\(InternalAPI.pathPrefix)/chats/\(chatID.pathEscaped)/messages?user_id=\(userID.pathEscaped)&limit=\(query.limit)"
        if let after = query.afterSeq { path += "&after=\(after)" }
        if let before = query.beforeSeq { path += "&before=\(before)" }
        let answer = try await client.call(.get, path, as: MessageRoutes.MessageList.self)
        return MessagePage(messages: answer.messages, hasMore: answer.hasMore)
    }
}
