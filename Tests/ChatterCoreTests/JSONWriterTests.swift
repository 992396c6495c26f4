import ChatterCore
import Foundation
import Testing

@Suite struct JSONWriterTests {
    static let bodies = [
        "hello", "", "quote \" backslash \\ slash / tab \t newline \n return \r", "bell \u{07} nul \u{00} esc \u{1B} del \u{7F}",
        "ünïcödé — 日本語 🚀👩‍👩‍👧", "<img src=x onerror=alert(1)>", "line\u{2028}separator", String(repeating: "x", count: 5000),
    ]

    func encoderJSON(_ event: ChatEvent) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(event), as: UTF8.self)
    }

    @Test(arguments: bodies)
    func messageEventsMatchTheEncoderByteForByte(_ body: String) throws {
        let created = Timestamp(millisecondsSinceEpoch: 1_764_000_000_123)
        let message = Message(id: Identifier.make(), chatID: "chat-1", seq: 42, senderID: "user-\"1\"", body: body,
                              clientMsgID: "c\\1", createdAt: created)
        let event = ChatEvent(kind: .messageCreated, chatID: message.chatID, occurredAt: created, message: message)
        #expect(try event.encodedJSON() == encoderJSON(event))
        let decoded = try JSONDecoder().decode(ChatEvent.self, from: Data(try event.encodedJSON().utf8))
        #expect(decoded == event)
    }

    @Test func editedDeletedAndReadEventsMatchTheEncoder() throws {
        let at = Timestamp(millisecondsSinceEpoch: 1_764_000_000_000)
        var message = Message(id: "m", chatID: "c", seq: 1, senderID: "u", body: nil, clientMsgID: "k", createdAt: at,
                              editedAt: at, deleted: true)
        let deleted = ChatEvent(kind: .messageDeleted, chatID: "c", occurredAt: at, message: message)
        #expect(try deleted.encodedJSON() == encoderJSON(deleted))
        message.deleted = false
        message.body = "edited"
        let edited = ChatEvent(kind: .messageUpdated, chatID: "c", occurredAt: at, message: message)
        #expect(try edited.encodedJSON() == encoderJSON(edited))
        let read = ChatEvent(kind: .readUpdated, chatID: "c", occurredAt: at, userID: "u", seq: 9)
        #expect(try read.encodedJSON() == encoderJSON(read))
    }

    @Test func nestedObjectsGetCommasInTheRightPlaces() {
        var writer = JSONWriter()
        writer.beginObject()
        writer.field("a", 1)
        writer.key("b")
        writer.beginObject()
        writer.field("c", "d")
        writer.field("e", -5)
        writer.endObject()
        writer.key("f")
        writer.bool(false)
        writer.endObject()
        #expect(writer.text == #"{"a":1,"b":{"c":"d","e":-5},"f":false}"#)
    }

    @Test func arraysSeparateTheirElements() {
        var writer = JSONWriter()
        writer.beginObject()
        writer.key("empty")
        writer.beginArray()
        writer.endArray()
        writer.key("list")
        writer.beginArray()
        writer.int(1)
        writer.string("two")
        writer.beginObject()
        writer.field("three", 3)
        writer.endObject()
        writer.beginArray()
        writer.bool(true)
        writer.endArray()
        writer.endArray()
        writer.field("z", "last")
        writer.endObject()
        #expect(writer.text == #"{"empty":[],"list":[1,"two",{"three":3},[true]],"z":"last"}"#)
    }

    @Test(arguments: [Int64.min, Int64.min + 1, -1_000_000, -10, -9, -1, 0, 1, 9, 10, 99, 100, 1_764_000_000_123, Int64.max])
    func integersAreWrittenAsTheirDecimalDigits(_ value: Int64) {
        var bytes: [UInt8] = Array("x".utf8)
        JSONWriter.appendInt(value, to: &bytes)
        #expect(String(decoding: bytes, as: UTF8.self) == "x" + String(value))
    }
}
