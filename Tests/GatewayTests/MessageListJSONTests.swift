import ChatterCore
import Foundation
import Testing

@testable import MessagingService

/// The history page is written by hand; it must say exactly what `JSONEncoder` would.
@Suite struct MessageListJSONTests {
    func encoderJSON(_ list: MessageRoutes.MessageList) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(list), as: UTF8.self)
    }

    @Test func pagesMatchTheEncoderByteForByte() throws {
        let at = Timestamp(millisecondsSinceEpoch: 1_764_000_000_123)
        let messages = [
            Message(id: "m1", chatID: "c", seq: 1, senderID: "u", body: "quote \" slash / newline \n ünï 🚀", clientMsgID: "k1", createdAt: at),
            Message(id: "m2", chatID: "c", seq: 2, senderID: "u", body: nil, clientMsgID: "k2", createdAt: at, editedAt: at, deleted: true),
            Message(id: "m3", chatID: "c", seq: 3, senderID: "v", body: "edited", clientMsgID: "k3", createdAt: at, editedAt: at),
        ]
        for list in [
            MessageRoutes.MessageList(messages: messages, hasMore: true),
            MessageRoutes.MessageList(messages: [], hasMore: false),
        ] {
            let page = MessagePageJSON(MessagePage(messages: list.messages, hasMore: list.hasMore))
            let written = String(decoding: MessageRoutes.WrittenMessageList(page: page).writtenJSON, as: UTF8.self)
            #expect(written == (try encoderJSON(list)))
            let decoded = try JSONDecoder().decode(MessageRoutes.MessageList.self, from: Data(written.utf8))
            #expect(decoded.messages == list.messages)
            #expect(decoded.hasMore == list.hasMore)
        }
    }
}
