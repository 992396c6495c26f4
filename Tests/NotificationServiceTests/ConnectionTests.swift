import ChatterCore
import Testing

@testable import NotificationService

@Suite struct SeqRunsTests {
    @Test func insertsMergeAdjacentRunsAndRejectRepeats() {
        var runs = SeqRuns()
        var inserted: [Bool] = []
        for seq: Int64 in [31, 32, 31] { inserted.append(runs.insert(seq)) }
        #expect(inserted == [true, true, false])
        #expect(runs.runs == [31...32])
        var backfilled: [Bool] = []
        for seq: Int64 in 1...30 { backfilled.append(runs.insert(seq)) }
        #expect(backfilled == Array(repeating: true, count: 30))
        #expect(runs.runs == [1...32])
        let forty = runs.insert(40)
        #expect(forty)
        #expect(runs.runs == [1...32, 40...40])
        #expect(runs.highest == 40)
        let repeated = runs.insert(17)
        #expect(!repeated)
    }
}

@Suite struct ConnectionTests {
    func drain(_ connection: Connection) async -> [String] {
        var frames: [String] = []
        connection.requestClose(code: 1000, reason: "", dropPending: false)
        while let frame = await connection.queue.next() { frames.append(frame) }
        return frames
    }

    @Test func liveMessagesAreDeliveredOncePerSeq() async {
        let connection = Connection(userID: "u", sessionID: "s", queueCapacity: 100)
        connection.deliver(chatID: "c", seq: 1, frame: "m1")
        connection.deliver(chatID: "c", seq: 2, frame: "m2")
        connection.deliver(chatID: "c", seq: 2, frame: "m2-duplicate")
        connection.deliver(chatID: "d", seq: 1, frame: "d1")
        connection.deliver(chatID: "c", seq: nil, frame: "typing")
        #expect(await drain(connection) == ["m1", "m2", "d1", "typing"])
    }

    @Test func syncReplaysMissedMessagesThenHeldLiveOnesWithoutDuplicates() async {
        let connection = Connection(userID: "u", sessionID: "s", queueCapacity: 100)
        connection.beginSync(chatID: "c")
        connection.deliver(chatID: "c", seq: 4, frame: "live4")  // arrives mid-replay: held
        connection.deliver(chatID: "c", seq: 5, frame: "live5")
        for seq in 3...4 { connection.replay(chatID: "c", seq: Int64(seq), frame: "replay\(seq)") }
        #expect(connection.endSync(chatID: "c") == 5)
        connection.deliver(chatID: "c", seq: 5, frame: "live5-again")
        connection.deliver(chatID: "c", seq: 6, frame: "live6")
        #expect(await drain(connection) == ["replay3", "replay4", "live5", "live6"])
    }

    @Test func messagesCommittedBeforeTheConnectionOpenedAreLeftToSync() async {
        let connection = Connection(userID: "u", sessionID: "s", queueCapacity: 100)
        let before = Timestamp(millisecondsSinceEpoch: connection.openedAt.millisecondsSinceEpoch - 1)
        connection.deliver(chatID: "c", seq: 9, occurredAt: before, frame: "old9")
        connection.deliver(chatID: "c", seq: nil, occurredAt: before, frame: "member-added")
        connection.deliver(chatID: "c", seq: 10, occurredAt: connection.openedAt, frame: "new10")
        #expect(await drain(connection) == ["member-added", "new10"])
    }

    @Test func overflowingTheQueueAsksToCloseWithTooSlow() async {
        let connection = Connection(userID: "u", sessionID: "s", queueCapacity: 3)
        for seq in 1...3 { connection.deliver(chatID: "c", seq: Int64(seq), frame: "m\(seq)") }
        #expect(connection.closeRequest == nil)
        connection.deliver(chatID: "c", seq: 4, frame: "m4")
        #expect(connection.closeRequest?.code == 4008)
        // Pending frames are dropped: the client will sync.
        #expect(await connection.queue.next() == nil)
        connection.send("late")
        #expect(await connection.queue.next() == nil)
    }

    @Test func typingIsThrottledPerChat() {
        let connection = Connection(userID: "u", sessionID: "s", queueCapacity: 10)
        #expect(connection.allowTyping(chatID: "c", interval: .seconds(60)))
        #expect(!connection.allowTyping(chatID: "c", interval: .seconds(60)))
        #expect(connection.allowTyping(chatID: "d", interval: .seconds(60)))
    }

    @Test func registryTracksFirstAndLastConnectionOfAUser() {
        let registry = ConnectionRegistry()
        let phone = Connection(userID: "u", sessionID: "s1", queueCapacity: 1)
        let laptop = Connection(userID: "u", sessionID: "s2", queueCapacity: 1)
        #expect(registry.add(phone))
        #expect(!registry.add(laptop))
        #expect(registry.connections(of: ["u", "nobody"]).count == 2)
        #expect(!registry.remove(phone))
        #expect(registry.isOnline("u"))
        #expect(registry.remove(laptop))
        #expect(!registry.isOnline("u"))
    }
}
