import ChatterCore
import NIOCore
import Synchronization
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

/// Stands in for the socket: runs on the caller's thread and records what was written. While
/// `stalled`, nothing is taken by the "kernel", like a client that stopped reading.
final class RecordingOutput: FrameOutput {
    private struct State {
        var frames: [String] = []
        var stalled = false
        var performed = 0
        var deferred: [@Sendable () -> Void]?
    }

    private let state = Mutex(State())
    let thread: ObjectIdentifier?

    /// `deferred`: work handed to the "event loop" waits for `runDeferred`.
    init(stalled: Bool = false, thread: ObjectIdentifier? = nil, deferred: Bool = false) {
        self.thread = thread
        state.withLock {
            $0.stalled = stalled
            $0.deferred = deferred ? [] : nil
        }
    }

    var frames: [String] { state.withLock { $0.frames } }
    var performed: Int { state.withLock { $0.performed } }

    func perform(_ body: @escaping @Sendable () -> Void) {
        let runNow = state.withLock { state -> Bool in
            state.performed += 1
            guard state.deferred != nil else { return true }
            state.deferred!.append(body)
            return false
        }
        if runNow { body() }
    }

    func runDeferred() {
        let bodies = state.withLock { state -> [@Sendable () -> Void] in
            defer { state.deferred = [] }
            return state.deferred ?? []
        }
        for body in bodies { body() }
    }

    func write(_ frames: [ByteBuffer], done: @escaping @Sendable () -> Void) {
        let stalled = state.withLock { state -> Bool in
            state.frames += frames.map { String(buffer: $0) }
            return state.stalled
        }
        if !stalled { done() }
    }

    func ping() {}
    func drop() {}
}

extension Connection {
    convenience init(userID: String, sessionID: String, queueCapacity: Int, output: RecordingOutput = RecordingOutput()) {
        self.init(userID: userID, sessionID: sessionID, output: output, queueCapacity: queueCapacity)
    }

    @discardableResult
    func deliver(chatID: String, seq: Int64?, occurredAt: Timestamp? = nil, frame: String) -> Bool {
        deliver(chatID: chatID, seq: seq, occurredAt: occurredAt, frame: ByteBuffer(string: frame))
    }

    func replay(chatID: String, seq: Int64, frame: String) {
        replay(chatID: chatID, seq: seq, frame: ByteBuffer(string: frame))
    }
}

@Suite struct ConnectionTests {
    func connection(capacity: Int = 100, stalled: Bool = false) -> (Connection, RecordingOutput) {
        let output = RecordingOutput(stalled: stalled)
        return (Connection(userID: "u", sessionID: "s", queueCapacity: capacity, output: output), output)
    }

    @Test func liveMessagesAreDeliveredOncePerSeq() async {
        let (connection, output) = connection()
        // The result says whether a frame was queued: what the delivery metrics count.
        #expect(connection.deliver(chatID: "c", seq: 1, frame: "m1"))
        #expect(connection.deliver(chatID: "c", seq: 2, frame: "m2"))
        #expect(!connection.deliver(chatID: "c", seq: 2, frame: "m2-duplicate"))
        #expect(connection.deliver(chatID: "d", seq: 1, frame: "d1"))
        #expect(connection.deliver(chatID: "c", seq: nil, frame: "typing"))
        #expect(output.frames == ["m1", "m2", "d1", "typing"])
    }

    @Test func syncReplaysMissedMessagesThenHeldLiveOnesWithoutDuplicates() async {
        let (connection, output) = connection()
        connection.beginSync(chatID: "c")
        connection.deliver(chatID: "c", seq: 4, frame: "live4")  // arrives mid-replay: held
        connection.deliver(chatID: "c", seq: 5, frame: "live5")
        for seq in 3...4 { connection.replay(chatID: "c", seq: Int64(seq), frame: "replay\(seq)") }
        #expect(connection.endSync(chatID: "c") == 5)
        connection.deliver(chatID: "c", seq: 5, frame: "live5-again")
        connection.deliver(chatID: "c", seq: 6, frame: "live6")
        #expect(output.frames == ["replay3", "replay4", "live5", "live6"])
    }

    @Test func aFreshConnectionHoldsLiveMessagesForTheSyncThatFollows() async {
        let output = RecordingOutput()
        let connection = Connection(userID: "u", sessionID: "s", output: output, queueCapacity: 100, holdLive: true)
        // A reconnecting client last saw seq 3 of c. Seq 6 is committed after the socket opened,
        // before the client's sync arrived: without the hold it would go out ahead of 4 and 5.
        connection.deliver(chatID: "c", seq: 6, frame: "live6")
        connection.deliver(chatID: "d", seq: 2, frame: "d2")
        connection.deliver(chatID: "d", seq: 1, frame: "d1")
        connection.deliver(chatID: "c", seq: nil, frame: "typing")  // not ordered: never held
        #expect(output.frames == ["typing"])
        connection.releaseHold(syncing: ["c"])
        // d is not synced: its held events go out now, in seq order.
        #expect(output.frames == ["typing", "d1", "d2"])
        connection.beginSync(chatID: "c")
        for seq in 4...6 { connection.replay(chatID: "c", seq: Int64(seq), frame: "replay\(seq)") }
        #expect(connection.endSync(chatID: "c") == 6)
        connection.releaseHold()  // later frames change nothing
        connection.deliver(chatID: "c", seq: 7, frame: "live7")
        #expect(output.frames == ["typing", "d1", "d2", "replay4", "replay5", "replay6", "live7"])
    }

    @Test func whileHoldingAMessageStampedBeforeTheOpenIsKeptNotDropped() async {
        let output = RecordingOutput()
        let connection = Connection(userID: "u", sessionID: "s", output: output, queueCapacity: 100, holdLive: true)
        // Stamped when its transaction began, before the socket opened; committed after the
        // sync read history. Dropping it would lose it for this connection.
        let before = Timestamp(millisecondsSinceEpoch: connection.openedAt.millisecondsSinceEpoch - 5)
        connection.deliver(chatID: "c", seq: 5, occurredAt: before, frame: "live5")
        connection.releaseHold(syncing: ["c"])
        connection.beginSync(chatID: "c")
        connection.replay(chatID: "c", seq: 4, frame: "replay4")  // the history read did not see 5
        #expect(connection.endSync(chatID: "c") == 5)
        #expect(output.frames == ["replay4", "live5"])
    }

    @Test func aFirstFrameThatIsNotSyncReleasesHeldMessagesInOrder() async {
        let output = RecordingOutput()
        let connection = Connection(userID: "u", sessionID: "s", output: output, queueCapacity: 100, holdLive: true)
        connection.deliver(chatID: "c", seq: 2, frame: "m2")
        connection.deliver(chatID: "c", seq: 1, frame: "m1")
        connection.releaseHold()
        connection.deliver(chatID: "c", seq: 2, frame: "m2-again")
        connection.deliver(chatID: "c", seq: 3, frame: "m3")
        #expect(output.frames == ["m1", "m2", "m3"])
    }

    @Test func messagesCommittedBeforeTheConnectionOpenedAreLeftToSync() async {
        let (connection, output) = connection()
        let before = Timestamp(millisecondsSinceEpoch: connection.openedAt.millisecondsSinceEpoch - 1)
        connection.deliver(chatID: "c", seq: 9, occurredAt: before, frame: "old9")
        connection.deliver(chatID: "c", seq: nil, occurredAt: before, frame: "member-added")
        connection.deliver(chatID: "c", seq: 10, occurredAt: connection.openedAt, frame: "new10")
        #expect(output.frames == ["member-added", "new10"])
    }

    @Test func aClientThatStopsReadingIsAskedToCloseWithTooSlow() async {
        let (connection, output) = connection(capacity: 3, stalled: true)
        for seq in 1...3 { connection.deliver(chatID: "c", seq: Int64(seq), frame: "m\(seq)") }
        #expect(connection.closeRequest == nil)
        #expect(connection.writer.backlog == 3)
        connection.deliver(chatID: "c", seq: 4, frame: "m4")
        #expect(connection.closeRequest?.code == 4008)
        // Nothing more is written: the client will sync.
        connection.send("late")
        #expect(output.frames == ["m1", "m2", "m3"])
    }

    @Test func aReadingClientNeverRunsOutOfBudget() {
        let (connection, output) = connection(capacity: 3)
        for seq in 1...50 { connection.deliver(chatID: "c", seq: Int64(seq), frame: "m\(seq)") }
        #expect(connection.closeRequest == nil)
        #expect(output.frames.count == 50)
        #expect(connection.writer.backlog == 0)
    }

    @Test func drainedWaitsUntilQueuedFramesAreWritten() async {
        let output = RecordingOutput(deferred: true)  // the "event loop" runs only when told
        let connection = Connection(userID: "u", sessionID: "s", queueCapacity: 10, output: output)
        connection.send("a")
        connection.requestClose(code: 1001, reason: "going away", dropPending: false)
        let returned = Atomic(false)
        let drained = Task {
            await connection.writer.drained()
            returned.store(true, ordering: .sequentiallyConsistent)
        }
        try? await Task.sleep(for: .milliseconds(50))
        let returnedEarly = returned.load(ordering: .sequentiallyConsistent)
        #expect(!returnedEarly, "the frame is not written yet: drained() must wait")
        output.runDeferred()
        await drained.value
        #expect(output.frames == ["a"])
    }

    @Test func aFanOutHandsEachSocketThreadItsFramesOnce() {
        final class Thread: Sendable {}
        let shared = Thread()
        let outputs = (0..<3).map { _ in RecordingOutput(thread: ObjectIdentifier(shared)) }
        let connections = outputs.map { Connection(userID: "u", sessionID: "s", queueCapacity: 10, output: $0) }
        let batch = FlushBatch()
        for connection in connections { connection.deliver(chatID: "c", seq: 1, frame: ByteBuffer(string: "m1"), batch: batch) }
        #expect(outputs.allSatisfy { $0.frames.isEmpty }, "nothing written before the batch is scheduled")
        batch.schedule()
        #expect(outputs.allSatisfy { $0.frames == ["m1"] })
        #expect(outputs.map(\.performed).reduce(0, +) == 1, "one hand-off for three sockets on one thread")
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

@Suite struct PresenceDedupeTests {
    @Test func eachConnectionHearsEachPresenceChangeOnce() {
        let output = RecordingOutput()
        let connection = Connection(userID: "alice", sessionID: "s", output: output, queueCapacity: 16)
        func tell(_ user: String, _ online: Bool) {
            connection.sendPresence(userID: user, online: online, frame: ByteBuffer(string: ServerFrame.presence(userID: user, online: online)))
        }
        tell("bob", false)  // never told online: nothing to take back
        tell("bob", true)  // the snapshot …
        tell("bob", true)  // … and bob's own announcement, crossing it
        tell("carol", true)
        tell("bob", false)
        tell("bob", false)
        tell("bob", true)  // back online after going offline
        let told = output.frames.compactMap { ServerFrame.presenceChange(in: $0) }.map { "\($0.userID) \($0.online)" }
        #expect(output.frames.count == 4)
        #expect(told == ["bob true", "carol true", "bob false", "bob true"])
    }

    @Test func presenceFramesFromOtherProcessesAreRecognised() {
        let change = ServerFrame.presenceChange(in: ServerFrame.presence(userID: "u1", online: false))
        #expect(change?.userID == "u1")
        #expect(change?.online == false)
        #expect(ServerFrame.presenceChange(in: ServerFrame.typing(chatID: "c", userID: "u1")) == nil)
        #expect(ServerFrame.presenceChange(in: "not json \"presence\"") == nil)
    }
}
