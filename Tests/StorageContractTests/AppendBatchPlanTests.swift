import ChatterCore
import Testing

@testable import PostgresStorage

/// The rules of a batch of sends, without a database.
@Suite struct AppendBatchPlanTests {
    let now = Timestamp(milliseconds: 1_700_000_000_000)

    func new(_ chat: String, _ sender: String, _ clientID: String, _ body: String = "b") -> NewMessage {
        NewMessage(id: Identifier.make(), chatID: chat, senderID: sender, body: body, clientMsgID: clientID)
    }

    @Test func seqsAreDensePerChatInArrivalOrder() {
        let messages = [new("a", "u1", "1"), new("b", "u1", "2"), new("a", "u2", "3"), new("a", "u1", "4"), new("c", "u3", "5")]
        let plan = AppendBatchPlan(messages: messages, lastSeq: ["a": 7, "b": 0], stored: [:], at: now)
        #expect(plan.results.map(\.message.seq) == [8, 1, 9, 10, 1])
        #expect(plan.results.allSatisfy { $0.created })
        #expect(plan.results.map(\.message.id) == messages.map(\.id))
        #expect(plan.created.map(\.seq) == [8, 1, 9, 10, 1], "inserted, and so published, in arrival order")
        #expect(plan.created.allSatisfy { $0.createdAt == now })
        #expect(plan.lastSeqs == ["a": 10, "b": 1, "c": 1])
        #expect(plan.readMarkers == [
            .init(chatID: "a", userID: "u1"): 10, .init(chatID: "a", userID: "u2"): 9,
            .init(chatID: "b", userID: "u1"): 1, .init(chatID: "c", userID: "u3"): 1,
        ])
    }

    @Test func aRetryOfAStoredSendGetsItBackAndTakesNoSeq() {
        let stored = Message(id: "m1", chatID: "a", seq: 3, senderID: "u1", body: "first", clientMsgID: "x", createdAt: Timestamp(milliseconds: 1))
        let messages = [new("a", "u2", "y"), new("a", "u1", "x", "resent"), new("a", "u2", "z")]
        let plan = AppendBatchPlan(messages: messages, lastSeq: ["a": 3], stored: [AppendBatchPlan.Key(messages[1]): stored], at: now)
        #expect(plan.results.map(\.created) == [true, false, true])
        #expect(plan.results[1].message == stored)
        #expect(plan.results.map(\.message.seq) == [4, 3, 5])
        #expect(plan.created.map(\.clientMsgID) == ["y", "z"])
        #expect(plan.lastSeqs == ["a": 5])
        #expect(plan.readMarkers == [.init(chatID: "a", userID: "u2"): 5], "a retry moves no marker")
    }

    @Test func theSameSendTwiceInOneBatchIsStoredOnce() {
        let first = new("a", "u1", "x", "once")
        let again = new("a", "u1", "x", "once (resent)")
        let otherSender = new("a", "u2", "x")
        let plan = AppendBatchPlan(messages: [first, again, otherSender], lastSeq: [:], stored: [:], at: now)
        #expect(plan.results.map(\.created) == [true, false, true])
        #expect(plan.results[1].message == plan.results[0].message)
        #expect(plan.results[1].message.body == "once")
        #expect(plan.created.map(\.seq) == [1, 2])
    }

    @Test func onlyRetriesWriteNothing() {
        let stored = Message(id: "m1", chatID: "a", seq: 1, senderID: "u1", body: "b", clientMsgID: "x", createdAt: now)
        let retry = new("a", "u1", "x")
        let plan = AppendBatchPlan(messages: [retry, retry], lastSeq: ["a": 1], stored: [AppendBatchPlan.Key(retry): stored], at: now)
        #expect(plan.created.isEmpty && plan.lastSeqs.isEmpty && plan.readMarkers.isEmpty)
        #expect(plan.results == [AppendResult(message: stored, created: false), AppendResult(message: stored, created: false)])
    }

    @Test func chatsAreLockedOnceEachInOneOrderAndKeysLookedUpOnce() {
        let messages = [new("c", "u1", "1"), new("a", "u1", "2"), new("c", "u2", "3"), new("b", "u1", "4"), new("c", "u1", "1")]
        #expect(AppendBatchPlan.chatsToLock(messages) == ["a", "b", "c"])
        #expect(AppendBatchPlan.chatsToLock(messages.reversed()) == ["a", "b", "c"])
        #expect(AppendBatchPlan.keys(messages).map(\.clientMsgID) == ["1", "2", "3", "4"])
    }
}
