import Testing

@testable import LoadGenerator

@Suite struct FrameScannerTests {
    @Test func readsAcksAndMessageEvents() {
        let ack = #"{"type":"ack","client_msg_id":"k1","message":{"body":"hi","chat_id":"c1","client_msg_id":"k1","created_at":"2026-11-26T00:00:00.000Z","deleted":false,"id":"m","sender_id":"u","seq":42}}"#
        #expect(FrameScanner.scan(ack) == .init(type: "ack", kind: nil, seq: 42, chatID: "c1", clientMsgID: "k1"))
        let event = #"{"type":"event","event":{"chat_id":"c1","kind":"message.created","message":{"body":"seq \"99\" , } ] { [","chat_id":"c1","client_msg_id":"k2","deleted":false,"seq":7},"occurred_at":"x"}}"#
        #expect(FrameScanner.scan(event) == .init(type: "event", kind: "message.created", seq: 7, chatID: "c1", clientMsgID: "k2"))
    }

    @Test func skipsWhatItDoesNotNeed() {
        let chat = #"{"type":"event","event":{"chat":{"id":"c","members":[{"role":"owner","user_id":"u"},{"role":"member","user_id":"v"}],"title":null},"chat_id":"c","kind":"chat.created","seq":5}}"#
        #expect(FrameScanner.scan(chat) == .init(type: "event", kind: "chat.created"), "a top-level event seq is not a message seq")
        #expect(FrameScanner.scan(#" { "type" : "ready", "user_id": "u", "n": -1.5e3, "ok": true, "x": [] } "#) == .init(type: "ready"))
    }

    @Test func takesFieldsOnlyFromTheirPlace() {
        let nested = #"{"type":"event","x":{"type":"no","message":{"seq":3}},"event":{"kind":"k","chat":{"message":{"seq":4,"chat_id":"no"}},"message":{"seq":5,"chat_id":"c"}}}"#
        #expect(FrameScanner.scan(nested) == .init(type: "event", kind: "k", seq: 5, chatID: "c"))
        #expect(FrameScanner.scan(#"{"typ":"a","types":"b","message":{"seqs":1,"se":2}}"#) == .init(), "keys match whole")
        #expect(FrameScanner.scan(#"{"type":"ack","message":{"seq":-3}}"#) == .init(type: "ack", seq: -3))
    }

    @Test func givesUpOnSeqsThatAreNotIntegers() {
        #expect(FrameScanner.scan(#"{"type":"ack","message":{"seq":1.5}}"#) == nil)
        #expect(FrameScanner.scan(#"{"type":"ack","message":{"seq":1e3}}"#) == nil)
        #expect(FrameScanner.scan(#"{"type":"ack","message":{"seq":99999999999999999999}}"#) == nil)
        #expect(FrameScanner.scan(#"{"type":"ack","message":{"seq":-}}"#) == nil)
    }

    @Test func givesUpOnEscapedIdsAndBrokenInput() {
        #expect(FrameScanner.scan(#"{"type":"ack","message":{"chat_id":"c\u0031","seq":1}}"#) == nil)
        #expect(FrameScanner.scan(#"{"type":"ack""#) == nil)
        #expect(FrameScanner.scan("[1,2]") == nil)
        #expect(FrameScanner.scan(#"{"type":"ack","message":{"seq":12x}}"#) == nil)
    }
}
