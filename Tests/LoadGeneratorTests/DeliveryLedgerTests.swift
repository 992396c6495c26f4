import Testing

@testable import LoadGenerator

/// The checker's definitions on a hand-made history of acks and deliveries.
@Suite struct DeliveryLedgerTests {
    @Test func duplicatesReordersUnseenAndUndelivered() {
        let ledger = DeliveryLedger()
        let now = ContinuousClock.now
        for seq in 1...4 { ledger.recordAck(chatID: "c", seq: Int64(seq), members: 2) }
        // Connection 0 gets 1, 2, 2 (a duplicate), then 4 and 3 (a reorder).
        for seq in [1, 2, 2, 4, 3] { ledger.recordDelivery(connection: 0, chatID: "c", seq: Int64(seq), clientMsgID: nil, at: now) }
        // Connection 1 gets 1 only.
        ledger.recordDelivery(connection: 1, chatID: "c", seq: 1, clientMsgID: nil, at: now)
        let totals = ledger.totals
        #expect(totals.duplicates == 1)
        #expect(totals.reordered == 1)
        #expect(totals.expectedDeliveries == 8)
        #expect(ledger.missing(connection: 0, chatID: "c") == 0)
        #expect(ledger.missing(connection: 1, chatID: "c") == 3, "unseen on connection 1: 2, 3, 4")
        #expect(ledger.undelivered().isEmpty, "every acked message reached some connection")

        ledger.recordAck(chatID: "c", seq: 5, members: 2)
        ledger.recordAck(chatID: "d", seq: 1, members: 1)
        #expect(ledger.undelivered() == ["c": [5], "d": [1]], "candidates for lost: history decides")
    }

    @Test func aRetriedSendCountsOnceAsDoesItsSecondAck() {
        let ledger = DeliveryLedger()
        let now = ContinuousClock.now
        ledger.recordSend(clientMsgID: "m1", at: now)
        ledger.recordSend(clientMsgID: "m1", at: now + .seconds(2))  // its socket died: sent again
        ledger.recordAck(chatID: "c", seq: 1, members: 3)
        ledger.recordAck(chatID: "c", seq: 1, members: 3)  // the retry's ack: the same message
        ledger.recordReconnect()
        let totals = ledger.totals
        #expect(totals.sent == 1)
        #expect(totals.resent == 1)
        #expect(totals.acked == 1)
        #expect(totals.expectedDeliveries == 3)
        #expect(totals.reconnects == 1)
        ledger.recordDelivery(connection: 0, chatID: "c", seq: 1, clientMsgID: "m1", at: now + .seconds(3))
        #expect(ledger.highest(connection: 0, chatID: "c") == 1)
        #expect(ledger.highest(connection: 1, chatID: "c") == 0)
    }

    /// Acks and deliveries are timed from the first send, each in its own histogram; a second
    /// ack of the same message is not timed again.
    @Test func acksAndDeliveriesAreTimedSeparatelyFromTheFirstSend() {
        let ledger = DeliveryLedger()
        let start = ContinuousClock.now
        ledger.recordSend(clientMsgID: "m1", at: start)
        ledger.recordSend(clientMsgID: "m1", at: start + .seconds(1))  // a retry: still timed from `start`
        ledger.recordAck(chatID: "c", seq: 1, members: 1, clientMsgID: "m1", at: start + .milliseconds(4))
        ledger.recordAck(chatID: "c", seq: 1, members: 1, clientMsgID: "m1", at: start + .seconds(9))
        ledger.recordDelivery(connection: 0, chatID: "c", seq: 1, clientMsgID: "m1", at: start + .milliseconds(30))
        #expect(abs(ledger.maxLatencyMilliseconds(of: .ack) - 4) < 0.1)
        #expect(abs(ledger.maxLatencyMilliseconds(of: .delivery) - 30) < 0.1)
        #expect(abs(ledger.latencyMilliseconds([50], of: .ack)[0] - 4) < 0.1)
    }
}
