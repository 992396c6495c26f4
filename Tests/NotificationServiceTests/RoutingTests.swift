import ChatterCore
import Testing

@testable import NotificationService

@Suite struct RoutingTests {
    func record(_ event: ChatEvent, headers: [String: String]) throws -> EventRecord {
        EventRecord(topic: ChatEvent.topic, partition: 0, offset: 0, key: event.chatID, payload: try event.encodedJSON(), headers: headers)
    }

    @Test func messageEventsRouteFromHeadersTheSameAsFromThePayload() throws {
        let at = Timestamp(millisecondsSinceEpoch: 1_764_000_000_000)
        let message = Message(id: "m", chatID: "c", seq: 7, senderID: "u", body: "hi", clientMsgID: "k", createdAt: at)
        let event = ChatEvent(kind: .messageCreated, chatID: "c", occurredAt: at, message: message)
        let headers = [EventHeader.kind: "message.created", EventHeader.occurredAt: "1764000000000", EventHeader.seq: "7"]
        let fromHeaders = try EventDispatcher.routing(of: record(event, headers: headers))
        let fromPayload = try EventDispatcher.routing(of: record(event, headers: [:]))
        for routing in [fromHeaders, fromPayload] {
            #expect(routing.kind == "message.created" && routing.chatID == "c" && routing.message?.seq == 7 && routing.occurredAt == at)
        }
    }

    @Test func chatEventsAndIncompleteHeadersFallBackToThePayload() throws {
        let at = Timestamp(millisecondsSinceEpoch: 1_764_000_000_000)
        let chat = ChatRecord(id: "c", type: .group, title: "T", createdBy: "u", createdAt: at,
                              members: [Member(userID: "u", role: .owner, joinedAt: at)])
        let created = ChatEvent(kind: .chatCreated, chatID: "c", occurredAt: at, chat: .init(chat))
        let routing = try EventDispatcher.routing(of: record(created, headers: [EventHeader.kind: "chat.created", EventHeader.occurredAt: "1"]))
        #expect(routing.chat?.members.map(\.userID) == ["u"])
        let message = Message(id: "m", chatID: "c", seq: 3, senderID: "u", body: "hi", clientMsgID: "k", createdAt: at)
        let sent = ChatEvent(kind: .messageCreated, chatID: "c", occurredAt: at, message: message)
        // A message.created record without its seq header is read from the payload.
        let partial = try EventDispatcher.routing(of: record(sent, headers: [EventHeader.kind: "message.created", EventHeader.occurredAt: "1"]))
        #expect(partial.message?.seq == 3 && partial.occurredAt == at)
    }
}

@Suite struct CloseReasonTests {
    @Test func closeCodesMapToTheMetricsReasons() {
        #expect(NotificationService.closeReason(nil) == "client")
        #expect(NotificationService.closeReason(1000) == "client")
        #expect(NotificationService.closeReason(1001) == "shutdown")
        #expect(NotificationService.closeReason(CloseCode.sessionRevoked) == "revoked")
        #expect(NotificationService.closeReason(CloseCode.tooSlow) == "slow_consumer")
        #expect(NotificationService.closeReason(1011) == "error")
    }
}
